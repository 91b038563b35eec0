import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths never written to logs, wherever they appear. */
const REDACT = [
  'password',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.headers.authorization',
  'variables.*.password',
  'variables.*.newPassword',
  'variables.*.currentPassword',
  'variables.refreshToken',
];

/**
 * `contextFields`, when given, adds fields to every line (tracing: the active span's trace_id and
 * span_id); without it no mixin runs.
 */
export function createLogger(level: string, destination?: pino.DestinationStream, contextFields?: () => Record<string, string>): Logger {
  return pino(
    {
      level,
      ...(contextFields ? { mixin: contextFields } : {}),
      base: { service: 'bastion' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
