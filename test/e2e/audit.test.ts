import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, loginAdmin, register, skipSuite, TestServer, userWithRole, type Session } from '../helpers/server.js';

const AUDIT_LOG = `query($first: Int, $after: String, $filter: AuditFilter) {
  auditLog(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id action outcome actor { id username } targetType targetId ip requestId count createdAt } }
  }
}`;

interface AuditNode {
  id: string;
  action: string;
  outcome: string;
  actor: { id: string; username: string } | null;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  requestId: string | null;
  count: number;
  createdAt: string;
}
interface AuditPage {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: Array<{ cursor: string; node: AuditNode }>;
}

describe.skipIf(skipSuite())('audit log', () => {
  let server: TestServer;
  let alice: Session;
  let bob: Session;
  let analyst: Session;
  let admin: Session;

  beforeAll(async () => {
    server = await TestServer.start();
    alice = await register(server);
    bob = await register(server);
    analyst = await userWithRole(server, 'ANALYST');
    admin = await loginAdmin(server);
  });
  afterAll(() => server.close());

  async function auditLog(variables: Record<string, unknown>): Promise<AuditPage> {
    const res = await server.gql<{ auditLog: AuditPage }>(AUDIT_LOG, variables, { token: admin.accessToken });
    if (!res.body.data?.auditLog) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.auditLog;
  }

  /** Sends a mutation with a request id of its own and returns the audit entry it left. */
  async function audited(query: string, variables: Record<string, unknown>, session: Session | null, action: string) {
    const requestId = `audit-${randomUUID()}`;
    const res = await server.gql<Record<string, { id?: string } | boolean>>(query, variables, {
      token: session?.accessToken,
      headers: { 'x-request-id': requestId },
    });
    const page = await auditLog({ first: 100, filter: { action } });
    const entry = page.edges.map((e) => e.node).find((n) => n.requestId === requestId);
    return { res, entry };
  }

  it('is for ADMIN only', async () => {
    for (const session of [alice, analyst]) {
      const res = await server.gql(AUDIT_LOG, {}, { token: session.accessToken });
      expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
    }
  });

  it('records every report and export mutation: success, denial and failure', async () => {
    const CREATE = `mutation($input: CreateReportInput!) { createReport(input: $input) { id } }`;
    const UPDATE = `mutation($id: ID!, $input: UpdateReportInput!) { updateReport(id: $id, input: $input) { id } }`;
    const DELETE = `mutation($id: ID!) { deleteReport(id: $id) }`;
    const EXPORT = `mutation($input: CreateExportInput!) { createExport(input: $input) { id } }`;

    const created = await audited(CREATE, { input: { title: 'audited' } }, alice, 'createReport');
    const reportId = (created.res.body.data?.createReport as { id: string }).id;
    expect(created.entry).toMatchObject({
      outcome: 'SUCCESS',
      actor: { id: alice.user.id, username: alice.user.username },
      targetType: 'Report',
      targetId: reportId,
      count: 1,
    });
    expect(created.entry?.ip).toMatch(/127\.0\.0\.1/);

    const cases: Array<[string, Record<string, unknown>, Session | null, string, string, string | null]> = [
      [CREATE, { input: { title: '' } }, alice, 'createReport', 'FAILURE', alice.user.id],
      [CREATE, { input: { title: 'anonymous' } }, null, 'createReport', 'DENIED', null],
      [UPDATE, { id: reportId, input: { title: 'renamed' } }, alice, 'updateReport', 'SUCCESS', alice.user.id],
      [UPDATE, { id: reportId, input: { title: 'x' } }, analyst, 'updateReport', 'DENIED', analyst.user.id],
      [UPDATE, { id: reportId, input: { title: 'x' } }, bob, 'updateReport', 'FAILURE', bob.user.id],
      [DELETE, { id: reportId }, analyst, 'deleteReport', 'DENIED', analyst.user.id],
      [DELETE, { id: reportId }, bob, 'deleteReport', 'FAILURE', bob.user.id],
      [DELETE, { id: reportId }, alice, 'deleteReport', 'SUCCESS', alice.user.id],
      [EXPORT, { input: { kind: 'REPORTS', format: 'CSV' } }, alice, 'createExport', 'SUCCESS', alice.user.id],
      [EXPORT, { input: { kind: 'AUDIT_LOG', format: 'CSV' } }, alice, 'createExport', 'DENIED', alice.user.id],
      [EXPORT, { input: { kind: 'AUDIT_LOG', format: 'CSV', filter: { tag: 'x' } } }, admin, 'createExport', 'FAILURE', admin.user.id],
    ];
    for (const [query, variables, session, action, outcome, actorId] of cases) {
      const { res, entry } = await audited(query, variables, session, action);
      expect(Boolean(res.body.errors), `${action} ${outcome}`).toBe(outcome !== 'SUCCESS');
      expect(entry, `${action} ${outcome}`).toMatchObject({ action, outcome, actor: actorId ? { id: actorId } : null });
      expect(entry?.targetType).toBe(query === EXPORT ? 'Export' : 'Report');
      if (query === UPDATE || query === DELETE) expect(entry?.targetId).toBe(reportId);
      if (query === EXPORT && outcome === 'SUCCESS') expect(entry?.targetId).toBe((res.body.data?.createExport as { id: string }).id);
    }
  });

  it('filters by action, actor, outcome and time, newest first, over several pages', async () => {
    const writer = await register(server);
    const CREATE = `mutation($input: CreateReportInput!) { createReport(input: $input) { id } }`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await server.gql<{ createReport: { id: string } }>(CREATE, { input: { title: `audit page ${i}` } }, { token: writer.accessToken });
      ids.push(res.body.data!.createReport.id);
    }
    await server.gql(CREATE, { input: { title: '' } }, { token: writer.accessToken });

    const filter = { actorId: writer.user.id, action: 'createReport', outcome: 'SUCCESS' };
    const pages: AuditPage[] = [];
    let after: string | null = null;
    do {
      const page = await auditLog({ first: 3, after, filter });
      pages.push(page);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(pages.map((p) => p.edges.length)).toEqual([3, 3, 1]);
    expect(pages.every((p) => p.totalCount === 7)).toBe(true);
    const nodes = pages.flatMap((p) => p.edges.map((e) => e.node));
    expect(nodes.map((n) => n.targetId)).toEqual([...ids].reverse());
    expect(nodes.every((n) => n.actor?.id === writer.user.id && n.outcome === 'SUCCESS')).toBe(true);

    const failures = await auditLog({ filter: { actorId: writer.user.id, outcome: 'FAILURE' } });
    expect(failures.edges.map((e) => e.node.action)).toEqual(['createReport']);

    const middle = nodes[3]!.createdAt;
    const older = await auditLog({ filter: { ...filter, to: middle } });
    const newer = await auditLog({ filter: { ...filter, from: middle } });
    expect(older.totalCount + newer.totalCount).toBe(7);
    expect(newer.edges.map((e) => e.node.createdAt).every((t) => t >= middle)).toBe(true);
    expect(older.edges.map((e) => e.node.createdAt).every((t) => t < middle)).toBe(true);

    const none = await auditLog({ filter: { ...filter, from: '2001-01-01T00:00:00Z', to: '2001-01-02T00:00:00Z' } });
    expect(none).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });
});
