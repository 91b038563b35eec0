import { randomBytes } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { createStorage, loginAdmin, skipSuite, testDb, userWithRole, type Session, type TestStorage } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

/*
 * WebSocket attacks against the built server in production mode, each over a real socket:
 * a subscription that outlives its subscriber's rights, operations that escape the request
 * budget, sockets that pile up per address, and client mistakes reported as server faults.
 */

interface Observed {
  events: Array<{ data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }>;
  errors: unknown[];
  completed: boolean;
  closeCode?: number;
}

/** A subscription over a real graphql-ws client, recording everything it receives and the socket's close code. */
function observe(server: BuiltServer, token: string | undefined, query: string, variables?: Record<string, unknown>): { client: Client; seen: Observed } {
  const seen: Observed = { events: [], errors: [], completed: false };
  // Not lazy: the client keeps its socket after the last subscription completes, so the server's close code is what is seen.
  const client = server.wsClient(token, { lazy: false, onClose: (event) => (seen.closeCode = (event as { code: number }).code) });
  client.subscribe(
    { query, variables },
    { next: (value) => void seen.events.push(value as Observed['events'][number]), error: (error) => void seen.errors.push(error), complete: () => (seen.completed = true) },
  );
  return { client, seen };
}

const ALERTS = 'subscription { alertRaised { id kind } }';
const codesOf = (seen: Observed) => seen.events.flatMap((e) => (e.errors ?? []).map((x) => x.extensions?.['code']));
/** The subscription is registered on the server once the socket is acknowledged and the subscribe sent. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

describe.skipIf(skipSuite())('security: WebSocket, production mode', () => {
  let storage: TestStorage;
  let server: BuiltServer;
  let admin: Session;
  beforeAll(async () => {
    storage = await createStorage();
    server = await BuiltServer.start(
      operatorEnv(storage, 'production', {
        RATE_LIMIT_PER_MINUTE: '40',
        WS_MAX_CONNECTIONS_PER_IP: '12',
        WS_MAX_ANONYMOUS_CONNECTIONS_PER_IP: '3',
        RATE_LIMITS: 'Mutation.register=100/3600',
      }),
    );
    admin = await loginAdmin(server);
  });
  afterAll(async () => {
    server?.kill();
    await storage?.dispose();
  });

  const gqlAdmin = (query: string, variables?: Record<string, unknown>) => server.gql(query, variables, { token: admin.accessToken });

  it('a logout ends running subscriptions with UNAUTHENTICATED and closes the socket with 4403, within about a second', async () => {
    const other = await userWithRole(server, 'ADMIN');
    const { client, seen } = observe(server, other.accessToken, ALERTS);
    try {
      await settle();
      expect((await server.gql('mutation { logout }', undefined, { token: other.accessToken })).body.errors).toBeUndefined();
      const started = Date.now();
      await eventually(async () => seen.closeCode, (code) => code === 4403, 5000);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(codesOf(seen)).toEqual(['UNAUTHENTICATED']);
      expect(seen.completed).toBe(true);
      // Nothing more reaches the ended subscription.
      await gqlAdmin(`mutation { raiseAlert(input: {severity: CRITICAL, kind: "AFTER_LOGOUT_${randomBytes(2).toString('hex')}", message: "x"}) { id } }`);
      await settle();
      expect(seen.events.filter((e) => e.data)).toEqual([]);
    } finally {
      await client.dispose();
    }
  });

  it('a disabled user: UNAUTHENTICATED and 4403', async () => {
    const other = await userWithRole(server, 'ADMIN');
    const { client, seen } = observe(server, other.accessToken, ALERTS);
    try {
      await settle();
      await gqlAdmin('mutation($id: ID!) { setUserDisabled(id: $id, disabled: true) { id } }', { id: other.user.id });
      await eventually(async () => seen.closeCode, (code) => code === 4403, 5000);
      expect(codesOf(seen)).toEqual(['UNAUTHENTICATED']);
    } finally {
      await client.dispose();
    }
  });

  it('an access token that expires ends its subscriptions with UNAUTHENTICATED and 4403', async () => {
    const shortLived = await BuiltServer.start(operatorEnv(storage, 'production', { ACCESS_TOKEN_TTL: '3' }));
    try {
      const session = await loginAdmin(shortLived);
      const { client, seen } = observe(shortLived, session.accessToken, ALERTS);
      try {
        await eventually(async () => seen.closeCode, (code) => code === 4403, 8000);
        expect(codesOf(seen)).toEqual(['UNAUTHENTICATED']);
        expect(seen.events[0]?.errors?.[0]?.message).toMatch(/expired/);
      } finally {
        await client.dispose();
      }
    } finally {
      shortLived.kill();
    }
  });

  it('a demotion below what the subscription requires ends it with FORBIDDEN, and nothing more arrives', async () => {
    const other = await userWithRole(server, 'ADMIN');
    const { client, seen } = observe(server, other.accessToken, ALERTS);
    try {
      await settle();
      await gqlAdmin('mutation($id: ID!) { setUserRole(id: $id, role: USER) { id } }', { id: other.user.id });
      await eventually(async () => seen.completed, Boolean, 5000);
      expect(codesOf(seen)).toEqual(['FORBIDDEN']);
      // Alerts raised before the demotion may have arrived (a loaded machine raises CPU alerts itself).
      const seenBefore = seen.events.length;
      await gqlAdmin(`mutation { raiseAlert(input: {severity: CRITICAL, kind: "AFTER_DEMOTION_${randomBytes(2).toString('hex')}", message: "x"}) { id } }`);
      await settle();
      expect(seen.events.slice(seenBefore)).toEqual([]);
    } finally {
      await client.dispose();
    }
  });

  it('operations over WebSocket spend the same per-key budget as HTTP', async () => {
    const user = await userWithRole(server, 'USER');
    // Spend the whole budget (40 a minute) over HTTP …
    let status = 200;
    for (let i = 0; i < 45 && status !== 429; i++) status = (await server.gql('{ me { id } }', undefined, { token: user.accessToken })).status;
    expect(status).toBe(429);
    // … and a subscribe over WebSocket is refused too.
    const { client, seen } = observe(server, user.accessToken, 'subscription { systemMetrics { cpuPercent } }');
    try {
      await eventually(async () => seen.errors.length, (n) => n > 0, 5000);
      // graphql-ws hands the error sink the operation's errors array.
      expect(seen.errors).toEqual([[expect.objectContaining({ extensions: expect.objectContaining({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) }) })]]);
    } finally {
      await client.dispose();
    }
  });

  it('caps anonymous sockets per IP (4403 past the cap) and all sockets per IP (429 at the upgrade)', async () => {
    const open = async (init: Record<string, unknown>) => {
      const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      const outcome = new Promise<string>((resolve) => {
        socket.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
        socket.once('close', (code) => resolve(`close ${code}`));
        socket.on('message', (data) => {
          if (JSON.parse(String(data)).type === 'connection_ack') resolve('ack');
        });
      });
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: init })));
      socket.on('error', () => undefined);
      return { socket, outcome: await outcome };
    };
    const sockets: WebSocket[] = [];
    try {
      const anonymous = [];
      for (let i = 0; i < 4; i++) {
        const { socket, outcome } = await open({});
        sockets.push(socket);
        anonymous.push(outcome);
      }
      expect(anonymous).toEqual(['ack', 'ack', 'ack', 'close 4403']);
      const signedIn = [];
      for (let i = 0; i < 10; i++) {
        const { socket, outcome } = await open({ authorization: `Bearer ${admin.accessToken}` });
        sockets.push(socket);
        signedIn.push(outcome);
      }
      // 3 anonymous sockets stay open; 9 more fit under the cap of 12; the next upgrade is refused.
      expect(signedIn.slice(0, 9).every((o) => o === 'ack')).toBe(true);
      expect(signedIn[9]).toBe('http 429');
    } finally {
      for (const socket of sockets) socket.terminate();
    }
  });

  it('a bad variable is the client mistake it is: BAD_USER_INPUT, as over HTTP', async () => {
    const query = 'subscription($s: AlertSeverity) { alertRaised(minSeverity: $s) { id } }';
    const { client, seen } = observe(server, admin.accessToken, query, { s: 'NOT_A_SEVERITY' });
    try {
      await eventually(async () => seen.errors.length, (n) => n > 0, 5000);
      expect(seen.errors).toEqual([[expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]]);
    } finally {
      await client.dispose();
    }
  });
});

describe.runIf(testDb() === 'postgres' && !skipSuite())('security: WebSocket rights across instances (PostgreSQL + Redis, production mode)', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await createStorage();
  });
  afterAll(() => storage?.dispose());

  it('a logout on one instance ends a subscription held on the other within about a second', async () => {
    const shared = { JWT_SECRET: randomBytes(32).toString('hex'), REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: `bastion-test-${randomBytes(4).toString('hex')}:` };
    const a = await BuiltServer.start(operatorEnv(storage, 'production', shared));
    const b = await BuiltServer.start(operatorEnv(storage, 'production', shared));
    try {
      const other = await userWithRole(a, 'ADMIN');
      const { client, seen } = observe(b, other.accessToken, ALERTS);
      try {
        await settle();
        expect((await a.gql('mutation { logout }', undefined, { token: other.accessToken })).body.errors).toBeUndefined();
        const started = Date.now();
        await eventually(async () => seen.closeCode, (code) => code === 4403, 5000);
        expect(Date.now() - started).toBeLessThan(2500);
        expect(codesOf(seen)).toEqual(['UNAUTHENTICATED']);
      } finally {
        await client.dispose();
      }
    } finally {
      a.kill();
      b.kill();
    }
  });
});
