import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../errors.js';
import { FORMAT_FILES, type ExportFormat } from '../exports/formats.js';
import type { ExportsService } from '../exports/service.js';
import type { SecurityEvents } from '../security/securityEvents.js';
import { sendError } from './server.js';

/** The contract code sent with each refusal of a download. */
const REFUSAL_CODES = { 403: ErrorCode.FORBIDDEN, 404: ErrorCode.NOT_FOUND, 409: ErrorCode.CONFLICT, 410: ErrorCode.NOT_FOUND } as const;

/**
 * GET /exports/:id/download?token=… — an export's file, streamed from the database chunk by
 * chunk. The signed token is the only credential (links are meant to be opened by a browser or
 * curl); a tampered one counts as a security event like any invalid token.
 */
export function registerExportDownload(
  app: FastifyInstance,
  { exports, security }: { exports: Pick<ExportsService, 'checkDownload' | 'chunks'>; security: Pick<SecurityEvents, 'invalidToken'> },
): void {
  app.get<{ Params: { id: string }; Querystring: { token?: string } }>('/exports/:id/download', async (request, reply) => {
    const check = await exports.checkDownload(request.params.id, request.query.token);
    if (!check.ok) {
      if (check.invalidLink) {
        security.invalidToken({ requestId: request.id, ip: request.ip, userAgent: request.headers['user-agent'] }, 'export link');
      }
      return sendError(reply, check.status, REFUSAL_CODES[check.status], check.message);
    }
    const row = check.export;
    const file = FORMAT_FILES[row.format as ExportFormat];
    const filename = `${row.kind.toLowerCase().replace('_', '-')}-${row.id}.${file.extension}`;
    return reply
      .header('content-type', file.contentType)
      .header('content-disposition', `attachment; filename="${filename}"`)
      .header('content-length', String(row.byteCount ?? 0))
      .header('cache-control', 'no-store')
      .send(Readable.from(exports.chunks(row.id)));
  });
}
