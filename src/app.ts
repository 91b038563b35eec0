import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { AnalyticsService } from './analytics/service.js';
import { AuditLog } from './audit/auditLog.js';
import { AuditQueries } from './audit/service.js';
import type { Config } from './config/config.js';
import { openDatabase } from './db/database.js';
import { ExportsService } from './exports/service.js';
import { createApollo } from './graphql/apollo.js';
import { createErrorMasker } from './graphql/errorMasking.js';
import { resolvers } from './graphql/resolvers.js';
import { buildSchema, loadTypeDefs } from './graphql/schema.js';
import { registerExportDownload } from './http/exportDownload.js';
import { registerGraphQLRoute } from './http/graphqlRoute.js';
import { registerLocalIde } from './http/localIde.js';
import { registerMetricsRoute, registerProbes } from './http/probes.js';
import { createFastify } from './http/server.js';
import { attachWebSocket } from './http/websocket.js';
import { AuthState } from './identity/authState.js';
import { IdentityService } from './identity/service.js';
import { AccessTokens } from './identity/tokens.js';
import { createPubSub } from './messaging/pubsub.js';
import { connectRedis } from './messaging/redis.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { RecentErrors } from './observability/recentErrors.js';
import { ReportsService } from './reports/service.js';
import { HttpRateLimit } from './security/httpRateLimit.js';
import { createLimiterStore } from './security/limiterStore.js';
import { queryLimitRules } from './security/queryLimits.js';
import { rateLimitedCoordinates } from './security/rateLimitDirective.js';
import { SecurityEvents } from './security/securityEvents.js';
import { AlertService } from './system/alerts.js';
import { SystemService } from './system/service.js';
import { TrustedDocuments } from './security/trustedDocuments.js';
import type { Services } from './services.js';

export interface App {
  url: string;
  port: number;
  services: Services;
  fastify: FastifyInstance;
  /** Drains HTTP and WebSocket, flushes the audit log, closes connections. */
  close(): Promise<void>;
}

/** Builds and starts one server: database (migrated), services, schema, HTTP and WebSocket. */
export async function startApp(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<App> {
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    migrate: true,
  });
  const redis = config.redisUrl ? connectRedis(config.redisUrl, logger, config.dbConnectTimeoutMs) : undefined;
  const metrics = new Metrics();
  db.onQuery((ms) => metrics.dbQueryDuration.observe(ms / 1000));
  const pubsub = createPubSub({
    logger,
    redis: redis ? { publisher: redis.commands, subscriber: redis.subscriber, prefix: config.redisPrefix } : undefined,
  });
  const limiterStore = createLimiterStore(redis?.commands, config.redisPrefix);
  const audit = new AuditLog(db, logger);
  const alerts = new AlertService({ db, pubsub, metrics, logger, webhookUrl: config.alertWebhookUrl });
  const security = new SecurityEvents({
    audit,
    metrics,
    store: limiterStore,
    pubsub,
    logger,
    autoBlockThreshold: config.autoBlockThreshold,
    raiseAlert: (alert) => alerts.raiseInBackground(alert),
  });
  const tokens = await AccessTokens.create(config);
  const authState = new AuthState(db, pubsub);
  const identity = new IdentityService({ config, db, tokens, authState, store: limiterStore, security, audit, metrics, logger });
  const services: Services = {
    config,
    logger,
    db,
    redis,
    pubsub,
    metrics,
    recentErrors: new RecentErrors(),
    limiterStore,
    audit,
    security,
    httpLimiter: new HttpRateLimit(config.rateLimitPerMinute, limiterStore, security),
    tokens,
    authState,
    identity,
    alerts,
    system: undefined as unknown as SystemService,
    reports: new ReportsService(db),
    analytics: new AnalyticsService({ db, metrics, audit }),
    auditQueries: new AuditQueries(db, audit),
    // Links point at PUBLIC_URL, else at this server (its URL is known once it listens).
    exports: new ExportsService({ db, audit, logger, config, baseUrl: () => config.publicUrl ?? url }),
    trustedDocuments: config.trustedDocuments ? TrustedDocuments.load(config.trustedDocuments) : undefined,
  };
  services.system = new SystemService(services);

  if (config.adminEmail && config.adminPassword) await identity.bootstrapAdmin(config.adminEmail, config.adminPassword);

  const schema = buildSchema({ typeDefs: loadTypeDefs(config.schemaDir), resolvers, config, limiterStore });
  metrics.declareRateLimits(rateLimitedCoordinates(schema));
  const validationRules = queryLimitRules({
    maxDepth: config.maxQueryDepth,
    maxAliases: config.maxAliases,
    maxDirectives: config.maxDirectives,
    maxCost: config.maxCost,
  });

  const fastify = await createFastify(config, logger, services);
  registerProbes(fastify, services);
  registerMetricsRoute(fastify, config, services);
  registerExportDownload(fastify, services);
  // Like Apollo Sandbox, the local IDE is for development only.
  if (!config.production) registerLocalIde(fastify);
  const apollo = createApollo({ schema, config, logger, validationRules, fastify });
  await apollo.start();
  registerGraphQLRoute(fastify, apollo, services);
  const websocket = attachWebSocket({
    server: fastify.server,
    schema,
    validationRules,
    config,
    services,
    maskError: createErrorMasker(logger, config.env),
  });

  await fastify.listen({ port: config.port, host: config.host });
  const { port } = fastify.server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url: `${url}/graphql`, env: config.env, database: db.provider, redis: Boolean(redis) }, 'listening');
  services.exports.start();
  services.system.start();

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    services,
    fastify,
    close() {
      closing ??= (async () => {
        await websocket.close();
        await fastify.close(); // waits for in-flight requests; Apollo's drain plugin stops Apollo
        await services.exports.close(); // a running export stops after its batch and stays PENDING
        await services.system.stop(); // the sampler and alert rules use the database
        await alerts.close();
        await audit.close();
        await pubsub.close();
        await redis?.close();
        await db.close();
      })();
      return closing;
    },
  };
}
