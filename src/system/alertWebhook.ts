import { setTimeout as sleep } from 'node:timers/promises';
import type { Alert } from '../db/models.js';
import type { Logger } from '../observability/logger.js';

const ATTEMPTS = 5;
/** Waits between attempts double from here: 0.5, 1, 2, 4 s. */
const FIRST_BACKOFF_MS = 500;
const ATTEMPT_TIMEOUT_MS = 5000;

export interface DeliveryState {
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastFailure: string | null;
}

/** A 4xx other than 408 and 429 will not get better by trying again. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * POSTs every new alert as JSON to ALERT_WEBHOOK_URL (Slack, PagerDuty or a mail relay sit
 * behind it), in the background: retried with exponential backoff, never awaited by the request
 * that raised the alert. Closing aborts what is still in flight (the alert itself is stored).
 */
export class AlertWebhook {
  readonly state: DeliveryState = { lastSuccessAt: null, lastFailureAt: null, lastFailure: null };
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  deliver(alert: Alert): void {
    const body = JSON.stringify({
      source: 'bastion',
      text: `[${alert.severity}] ${alert.kind}: ${alert.message}`,
      alert: {
        id: alert.id,
        severity: alert.severity,
        kind: alert.kind,
        message: alert.message,
        status: alert.status,
        value: alert.value,
        threshold: alert.threshold,
        createdAt: new Date(alert.createdAt).toISOString(),
      },
    });
    const delivery = this.send(alert.id, body).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.inFlight);
  }

  private async send(alertId: string, body: string): Promise<void> {
    let problem = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const response = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
        });
        await response.body?.cancel();
        if (response.ok) {
          this.state.lastSuccessAt = new Date();
          return;
        }
        problem = `HTTP ${response.status}`;
        if (!retryable(response.status)) break;
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        problem = error instanceof Error ? error.message : String(error);
      }
      if (attempt < ATTEMPTS) {
        try {
          await sleep(FIRST_BACKOFF_MS * 2 ** (attempt - 1), undefined, { signal: this.stopping.signal });
        } catch {
          return; // closing
        }
      }
    }
    this.state.lastFailureAt = new Date();
    this.state.lastFailure = problem;
    this.logger.error({ alertId, problem }, 'alert webhook delivery failed');
  }
}
