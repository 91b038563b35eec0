import type { AnalyticsService } from './analytics/service.js';
import type { AuditLog } from './observability/auditLog.js';
import type { AuditQueries } from './audit/service.js';
import type { Config } from './config/config.js';
import type { Database } from './db/database.js';
import type { ExportsService } from './exports/service.js';
import type { AuthState } from './identity/authState.js';
import type { IdentityService } from './identity/service.js';
import type { AccessTokens } from './identity/tokens.js';
import type { PubSub } from './messaging/pubsub.js';
import type { RedisConnections } from './messaging/redis.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import type { RecentErrors } from './observability/recentErrors.js';
import type { ReportsService } from './reports/service.js';
import type { LimiterStore } from './security/limiterStore.js';
import type { SecurityEvents } from './security/securityEvents.js';
import type { AlertService } from './system/alerts.js';
import type { SystemService } from './system/service.js';
import type { TrustedDocuments } from './security/trustedDocuments.js';

/** Everything a request may use, built once per server in src/app.ts. */
export interface Services {
  config: Config;
  logger: Logger;
  db: Database;
  redis: RedisConnections | undefined;
  pubsub: PubSub;
  metrics: Metrics;
  recentErrors: RecentErrors;
  limiterStore: LimiterStore;
  audit: AuditLog;
  security: SecurityEvents;
  tokens: AccessTokens;
  authState: AuthState;
  identity: IdentityService;
  reports: ReportsService;
  analytics: AnalyticsService;
  /** Reads the audit log; `audit` writes it. */
  auditQueries: AuditQueries;
  exports: ExportsService;
  alerts: AlertService;
  /** Status, metrics history, diagnostics, maintenance; runs the sampler and the alert rules. */
  system: SystemService;
  /** Set when TRUSTED_DOCUMENTS names a manifest: only its operations run. */
  trustedDocuments: TrustedDocuments | undefined;
}
