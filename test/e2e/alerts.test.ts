import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, errorCodes, LOGIN, loginAdmin, register, skipSuite, TestServer, userWithRole, type Session } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const ALERT_FIELDS = 'id severity kind message status value threshold createdAt acknowledgedAt resolvedAt';
const RAISE = `mutation Raise($input: RaiseAlertInput!) { raiseAlert(input: $input) { ${ALERT_FIELDS} } }`;
const ACKNOWLEDGE = `mutation Ack($id: ID!) { acknowledgeAlert(id: $id) { ${ALERT_FIELDS} } }`;
const RESOLVE = `mutation Resolve($id: ID!) { resolveAlert(id: $id) { ${ALERT_FIELDS} } }`;
const ALERTS = `query Alerts($first: Int, $filter: AlertFilter) { alerts(first: $first, filter: $filter) { ${ALERT_FIELDS} } }`;
const ALERT_RAISED = `subscription Raised($minSeverity: AlertSeverity) { alertRaised(minSeverity: $minSeverity) { ${ALERT_FIELDS} } }`;

interface Alert {
  id: string;
  severity: string;
  kind: string;
  message: string;
  status: string;
  value: number | null;
  threshold: number | null;
  createdAt: string;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
}

let kindCounter = 0;
const uniqueKind = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${kindCounter++}`.toUpperCase();

/** A live subscription: its events so far, its errors, and a way to wait for the next event. */
interface Subscription {
  events: Alert[];
  errors: unknown[];
  ready: Promise<void>;
  next(): Promise<Alert>;
}

/**
 * Subscribes to alertRaised. `ready` resolves once the server has the subscription: graphql-ws sends
 * nothing back on subscribe, so a probe alert is raised until one arrives (or an error does).
 */
function subscribeAlerts(client: Client, variables: Record<string, unknown> = {}): Subscription {
  const events: Alert[] = [];
  const errors: unknown[] = [];
  let waiter: ((alert: Alert) => void) | undefined;
  let failed: (() => void) | undefined;
  const ended = new Promise<void>((resolve) => (failed = resolve));
  client.subscribe<{ alertRaised: Alert }>(
    { query: ALERT_RAISED, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        const alert = result.data?.alertRaised;
        if (!alert) return;
        events.push(alert);
        waiter?.(alert);
        waiter = undefined;
      },
      error: (error) => {
        errors.push(...(Array.isArray(error) ? error : [error]));
        failed?.();
      },
      complete: () => failed?.(),
    },
  );
  return {
    events,
    errors,
    ready: ended,
    next: () => new Promise<Alert>((resolve) => (waiter = resolve)),
  };
}

/** Waits until the server holds the subscription, by raising CRITICAL probe alerts until one arrives. */
async function untilSubscribed(server: TestServer, admin: Session, subscription: Subscription): Promise<void> {
  const before = subscription.events.length;
  await eventually(
    async () => {
      await server.gql(RAISE, { input: { severity: 'CRITICAL', kind: uniqueKind('PROBE'), message: 'probe' } }, { token: admin.accessToken });
      return subscription.events.length;
    },
    (count) => count > before,
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms))]);
}

describe.skipIf(skipSuite())('alerts: raise, stream, acknowledge, resolve, webhook', () => {
  let server: TestServer;
  let webhook: Server;
  const webhookRequests: Array<{ headers: IncomingMessage['headers']; body: any }> = [];
  /** The webhook answers 503 to the first delivery of each alert, so every alert is retried once. */
  const seen = new Set<string>();
  let admin: Session;
  let otherAdmin: Session;
  const clients: Client[] = [];

  beforeAll(async () => {
    webhook = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw) as { alert: { id: string } };
        webhookRequests.push({ headers: req.headers, body });
        const first = !seen.has(body.alert.id);
        seen.add(body.alert.id);
        res.writeHead(first ? 503 : 204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const { port } = webhook.address() as AddressInfo;
    server = await TestServer.start({ ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/alerts` });
    admin = await loginAdmin(server);
    otherAdmin = await userWithRole(server, 'ADMIN');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await server.close();
    await new Promise((resolve) => webhook.close(resolve));
  });

  const client = (token: string) => {
    const c = server.wsClient(token);
    clients.push(c);
    return c;
  };

  it('streams an alert raised by another admin to a subscribed admin', async () => {
    const subscription = subscribeAlerts(client(admin.accessToken));
    await untilSubscribed(server, otherAdmin, subscription);
    const kind = uniqueKind('DEPLOY');
    const received = subscription.next();
    const raised = await server.gql<{ raiseAlert: Alert }>(RAISE, { input: { severity: 'WARNING', kind, message: 'deploy went wrong' } }, { token: otherAdmin.accessToken });
    expect(raised.body.errors).toBeUndefined();
    expect(raised.body.data!.raiseAlert).toMatchObject({ kind, severity: 'WARNING', status: 'OPEN', message: 'deploy went wrong', value: null });
    const alert = await withTimeout(received, 5000, 'alertRaised event');
    expect(alert).toEqual(raised.body.data!.raiseAlert);
  });

  it("refuses a USER's alertRaised subscription at subscribe time, and sends it nothing", async () => {
    const user = await register(server);
    const refused = subscribeAlerts(client(user.accessToken));
    await withTimeout(refused.ready, 5000, 'subscription error');
    expect(refused.errors.map((e) => (e as { extensions?: { code?: string } }).extensions?.code)).toEqual(['FORBIDDEN']);

    const adminStream = subscribeAlerts(client(admin.accessToken));
    await untilSubscribed(server, admin, adminStream);
    expect(refused.events).toEqual([]);
    const viaHttp = await server.gql(RAISE, { input: { severity: 'INFO', kind: 'NOPE', message: 'x' } }, { token: user.accessToken });
    expect(errorCodes(viaHttp.body)).toEqual(['FORBIDDEN']);
  });

  it('streams only alerts at or above minSeverity', async () => {
    const subscription = subscribeAlerts(client(admin.accessToken), { minSeverity: 'CRITICAL' });
    await untilSubscribed(server, admin, subscription);
    const next = subscription.next();
    await server.gql(RAISE, { input: { severity: 'WARNING', kind: uniqueKind('LOW'), message: 'not for you' } }, { token: admin.accessToken });
    const critical = uniqueKind('HIGH');
    await server.gql(RAISE, { input: { severity: 'CRITICAL', kind: critical, message: 'for you' } }, { token: admin.accessToken });
    // Events arrive in order: had the WARNING passed the filter, it would have come first.
    expect(await withTimeout(next, 5000, 'CRITICAL alert')).toMatchObject({ kind: critical, severity: 'CRITICAL' });
  });

  it('keeps one unresolved alert per kind; acknowledges and resolves', async () => {
    const kind = uniqueKind('DISKFULL');
    const raised = (await server.gql<{ raiseAlert: Alert }>(RAISE, { input: { severity: 'CRITICAL', kind, message: 'disk full' } }, { token: admin.accessToken })).body.data!.raiseAlert;

    const acknowledged = await server.gql<{ acknowledgeAlert: Alert }>(ACKNOWLEDGE, { id: raised.id }, { token: otherAdmin.accessToken });
    expect(acknowledged.body.data!.acknowledgeAlert).toMatchObject({ id: raised.id, status: 'ACKNOWLEDGED', acknowledgedAt: expect.any(String), resolvedAt: null });

    const duplicate = await server.gql(RAISE, { input: { severity: 'CRITICAL', kind, message: 'again' } }, { token: admin.accessToken });
    expect(errorCodes(duplicate.body)).toEqual(['CONFLICT']);

    const resolved = await server.gql<{ resolveAlert: Alert }>(RESOLVE, { id: raised.id }, { token: admin.accessToken });
    expect(resolved.body.data!.resolveAlert).toMatchObject({ id: raised.id, status: 'RESOLVED', resolvedAt: expect.any(String) });
    const row = await server.app.services.db.prisma.alert.findUniqueOrThrow({ where: { id: raised.id } });
    expect(row).toMatchObject({ resolution: 'MANUAL', resolvedBy: admin.user.id, acknowledgedBy: otherAdmin.user.id, openKey: null });

    // Resolving again changes nothing; a new alert of the kind may now be raised.
    const again = await server.gql<{ resolveAlert: Alert }>(RESOLVE, { id: raised.id }, { token: admin.accessToken });
    expect(again.body.data!.resolveAlert.resolvedAt).toBe(resolved.body.data!.resolveAlert.resolvedAt);
    const reraised = await server.gql<{ raiseAlert: Alert }>(RAISE, { input: { severity: 'WARNING', kind, message: 'again' } }, { token: admin.accessToken });
    expect(reraised.body.data!.raiseAlert.id).not.toBe(raised.id);

    const missing = await server.gql(ACKNOWLEDGE, { id: '00000000-0000-4000-8000-000000000000' }, { token: admin.accessToken });
    expect(errorCodes(missing.body)).toEqual(['NOT_FOUND']);
  });

  it('lists alerts newest first, filtered by status and minimum severity', async () => {
    const list = async (variables: Record<string, unknown>) =>
      (await server.gql<{ alerts: Alert[] }>(ALERTS, variables, { token: admin.accessToken })).body.data!.alerts;
    await server.gql(RAISE, { input: { severity: 'INFO', kind: uniqueKind('NOTE'), message: 'for the record' } }, { token: admin.accessToken });
    const all = await list({ first: 100 });
    expect(all.length).toBeGreaterThan(3);
    const times = all.map((a) => Date.parse(a.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(await list({ first: 2 })).toHaveLength(2);

    const resolved = await list({ first: 100, filter: { status: 'RESOLVED' } });
    expect(resolved.length).toBeGreaterThan(0);
    expect(resolved.every((a) => a.status === 'RESOLVED')).toBe(true);
    const severe = await list({ first: 100, filter: { minSeverity: 'WARNING' } });
    expect(severe.length).toBeGreaterThan(0);
    expect(severe.every((a) => a.severity !== 'INFO')).toBe(true);
    expect(severe.length).toBeLessThan(all.length);

    const tooMany = await server.gql(ALERTS, { first: 101 }, { token: admin.accessToken });
    expect(errorCodes(tooMany.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('validates the kind and the message of a manual alert', async () => {
    const badKind = await server.gql(RAISE, { input: { severity: 'INFO', kind: 'no spaces', message: 'x' } }, { token: admin.accessToken });
    expect(badKind.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'kind' });
    const longMessage = await server.gql(RAISE, { input: { severity: 'INFO', kind: 'LONG', message: 'x'.repeat(1001) } }, { token: admin.accessToken });
    expect(longMessage.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'message' });
  });

  it('POSTs every new alert to ALERT_WEBHOOK_URL as JSON, retrying a failed delivery', async () => {
    const kind = uniqueKind('HOOKED');
    const raised = (await server.gql<{ raiseAlert: Alert }>(RAISE, { input: { severity: 'CRITICAL', kind, message: 'page someone' } }, { token: admin.accessToken })).body.data!.raiseAlert;
    const deliveries = await eventually(
      async () => webhookRequests.filter((r) => r.body.alert.id === raised.id),
      (list) => list.length >= 2,
    );
    expect(deliveries).toHaveLength(2); // refused once with 503, then accepted
    expect(deliveries[0]!.headers['content-type']).toBe('application/json');
    expect(deliveries[1]!.body).toEqual({
      source: 'bastion',
      text: `[CRITICAL] ${kind}: page someone`,
      alert: { id: raised.id, severity: 'CRITICAL', kind, message: 'page someone', status: 'OPEN', value: null, threshold: null, createdAt: raised.createdAt },
    });
  });

  it('raises a CRITICAL TOKEN_REPLAY alert when a rotated refresh token is presented again', async () => {
    const user = await register(server);
    const REFRESH = 'mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }';
    await server.gql(REFRESH, { t: user.refreshToken });
    const replay = await server.gql(REFRESH, { t: user.refreshToken });
    expect(errorCodes(replay.body)).toEqual(['UNAUTHENTICATED']);
    const alerts = await eventually(
      async () => (await server.gql<{ alerts: Alert[] }>(ALERTS, { first: 100 }, { token: admin.accessToken })).body.data!.alerts.filter((a) => a.kind === 'TOKEN_REPLAY'),
      (list) => list.length > 0,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: 'CRITICAL', status: 'OPEN' });
  });
});

describe.skipIf(skipSuite())('alerts: threshold rules', () => {
  let server: TestServer;
  let admin: Session;
  const SECURITY_THRESHOLD = 30;

  beforeAll(async () => {
    server = await TestServer.start({
      METRICS_SAMPLE_INTERVAL: '1',
      // Any memory use is above 0%: the MEMORY rule fires on the first sample and stays above.
      ALERT_MEMORY_PERCENT: '0',
      // One failed login within a one-second interval is 60 per minute.
      ALERT_SECURITY_EVENTS_PER_MINUTE: String(SECURITY_THRESHOLD),
    });
    admin = await loginAdmin(server);
  });
  afterAll(() => server.close());

  const alertsOfKind = async (kind: string) =>
    (await server.gql<{ alerts: Alert[] }>(ALERTS, { first: 100 }, { token: admin.accessToken })).body.data!.alerts.filter((a) => a.kind === kind);
  const sampleCount = () => server.app.services.db.prisma.metricSample.count();

  it('raises exactly one alert while a value stays above its threshold', async () => {
    await eventually(() => alertsOfKind('MEMORY'), (list) => list.length > 0);
    const samples = await sampleCount();
    await eventually(sampleCount, (count) => count >= samples + 2);
    const memory = await alertsOfKind('MEMORY');
    expect(memory).toHaveLength(1);
    expect(memory[0]).toMatchObject({ severity: 'WARNING', status: 'OPEN', threshold: 0 });
    expect(memory[0]!.value).toBeGreaterThan(0);
  });

  it('raises one SECURITY alert on a burst of failed logins and resolves it itself once they stop', async () => {
    await Promise.all(
      [1, 2, 3].map(() => server.gql(LOGIN, { input: { login: ADMIN.email, password: 'wrong-password-123' } })),
    );
    const [raised] = await eventually(() => alertsOfKind('SECURITY'), (list) => list.length > 0);
    expect(raised).toMatchObject({ severity: 'WARNING', threshold: SECURITY_THRESHOLD });
    expect(raised!.value).toBeGreaterThan(SECURITY_THRESHOLD);

    const resolved = await eventually(() => alertsOfKind('SECURITY'), (list) => list.every((a) => a.status === 'RESOLVED'));
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({ id: raised!.id, status: 'RESOLVED', resolvedAt: expect.any(String) });
    const row = await server.app.services.db.prisma.alert.findUniqueOrThrow({ where: { id: raised!.id } });
    expect(row).toMatchObject({ resolution: 'AUTO', resolvedBy: null });
  });
});
