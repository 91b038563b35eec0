import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getOperationAST, parse, validate, type DocumentNode, type GraphQLSchema, type OperationTypeNode, type ValidationRule } from 'graphql';

/** One manifest operation, parsed and validated once, at load. */
export interface TrustedDocument {
  /** The sha256 of `body`, in hex: the id clients send, and Apollo's query hash for this text. */
  id: string;
  name: string;
  type: OperationTypeNode;
  body: string;
  document: DocumentNode;
  /** Over a query limit, admitted by TRUSTED_DOCUMENTS_SKIP_LIMITS: it runs without the limit rules. */
  exemptFromLimits: boolean;
}

/** The checks a request's document gets, applied to every manifest document at load. */
export interface DocumentChecks {
  schema: GraphQLSchema;
  parseOptions: { maxTokens: number };
  /** What every document must pass: graphql's own rules (and no introspection in production). */
  rules: readonly ValidationRule[];
  /** The query limits (src/security/queryLimits.ts), from which a manifest document may be exempted. */
  limitRules: readonly ValidationRule[];
  maxErrors: number;
  /** TRUSTED_DOCUMENTS_SKIP_LIMITS: a document over a limit is admitted (and exempted) instead of refused. */
  skipLimits: boolean;
}

export interface CompiledManifest {
  byId: ReadonlyMap<string, TrustedDocument>;
  /** Documents admitted over a query limit, each with the limit it exceeds. */
  exempted: Array<{ name: string; id: string; limit: string }>;
}

/** A manifest that cannot be used: each problem names its operation where there is one. */
export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(summarise(problems));
    this.name = 'ManifestError';
  }
}

/** Apollo's persisted-query manifest, as `npm run codegen` writes it (client/generated/persisted-query-manifest.json). */
interface PersistedQueryManifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: Array<{ id: string; name: string; type: string; body: string }>;
}

/** A log line or error message names at most this many problems (a broken manifest may hold hundreds). */
const MAX_PROBLEMS_NAMED = 20;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Reads the manifest and checks every operation against the schema with the same rules a request
 * gets. All or nothing: any operation that fails makes the whole manifest unusable, and every
 * failing one is named.
 */
export function compileManifest(file: string, checks: DocumentChecks): CompiledManifest {
  const manifest = readManifest(file);
  const byId = new Map<string, TrustedDocument>();
  const exempted: CompiledManifest['exempted'] = [];
  const problems: string[] = [];
  for (const operation of manifest.operations) {
    // One hash for one text: an id that is not the body's sha256 would never match what clients send.
    if (operation.id !== sha256(operation.body)) {
      problems.push(`operation ${operation.name}: its id is not the sha256 of its body`);
      continue;
    }
    const checked = checkDocument(operation.body, operation.name, checks);
    if ('problem' in checked) {
      problems.push(`operation ${operation.name} (sha256:${operation.id.slice(0, 12)}…): ${checked.problem}`);
      continue;
    }
    if (checked.overLimit) exempted.push({ name: operation.name, id: operation.id, limit: checked.overLimit });
    byId.set(operation.id, {
      id: operation.id,
      name: operation.name,
      type: checked.type,
      body: operation.body,
      document: checked.document,
      exemptFromLimits: checked.overLimit !== undefined,
    });
  }
  if (problems.length > 0) throw new ManifestError(problems);
  return { byId, exempted };
}

function readManifest(file: string): PersistedQueryManifest {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ManifestError([`must name a readable JSON manifest (${(error as Error).message})`]);
  }
  if (!isPersistedQueryManifest(manifest)) {
    throw new ManifestError([
      'must be an Apollo persisted-query manifest (client/generated/persisted-query-manifest.json, written by npm run codegen)',
    ]);
  }
  return manifest;
}

type Checked = { document: DocumentNode; type: OperationTypeNode; overLimit: string | undefined } | { problem: string };

function checkDocument(body: string, name: string, checks: DocumentChecks): Checked {
  let document: DocumentNode;
  let overLimit: string | undefined;
  try {
    document = parse(body, checks.parseOptions);
  } catch (error) {
    // The token limit is a query limit too: a document that parses without it is only over that limit.
    try {
      document = parse(body);
    } catch {
      return { problem: (error as Error).message };
    }
    overLimit = (error as Error).message;
  }
  const invalid = validate(checks.schema, document, checks.rules, { maxErrors: checks.maxErrors });
  if (invalid.length > 0) return { problem: messagesOf(invalid) };
  const overLimits = validate(checks.schema, document, checks.limitRules, { maxErrors: checks.maxErrors });
  if (overLimits.length > 0) overLimit ??= messagesOf(overLimits);
  if (overLimit !== undefined && !checks.skipLimits) return { problem: `over a query limit: ${overLimit}` };
  const operation = getOperationAST(document, name) ?? getOperationAST(document);
  if (!operation) return { problem: 'the document must hold exactly one operation' };
  return { document, type: operation.operation, overLimit };
}

/** Each distinct message once (a limit rule may report the same one per fragment or field). */
function messagesOf(errors: readonly { message: string }[]): string {
  return [...new Set(errors.map((e) => e.message))].join(' ');
}

function summarise(problems: string[]): string {
  const named = problems.slice(0, MAX_PROBLEMS_NAMED).join('; ');
  return problems.length > MAX_PROBLEMS_NAMED ? `${named}; and ${problems.length - MAX_PROBLEMS_NAMED} more` : named;
}

function isPersistedQueryManifest(value: unknown): value is PersistedQueryManifest {
  const manifest = value as Partial<PersistedQueryManifest> | null;
  return (
    typeof manifest === 'object' &&
    manifest !== null &&
    manifest.format === 'apollo-persisted-query-manifest' &&
    manifest.version === 1 &&
    Array.isArray(manifest.operations) &&
    manifest.operations.every((op) => typeof op?.id === 'string' && typeof op.body === 'string' && typeof op.name === 'string')
  );
}
