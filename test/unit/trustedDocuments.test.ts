import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrustedDocuments } from '../../src/security/trustedDocuments.js';
import { ROOT } from '../helpers/process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bastion-trusted-'));
const write = (name: string, value: unknown) => {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
};

describe('TRUSTED_DOCUMENTS manifest', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads the manifest npm run codegen writes, and refuses codegen's own persisted-documents file", () => {
    expect(() => TrustedDocuments.load(path.join(ROOT, 'client', 'generated', 'persisted-query-manifest.json'))).not.toThrow();
    expect(() => TrustedDocuments.load(path.join(ROOT, 'client', 'generated', 'persisted-documents.json'))).toThrow(/TRUSTED_DOCUMENTS.*Apollo persisted-query manifest/);
  });

  it('refuses an operation whose id is not the sha256 of its body', () => {
    const file = write('mismatch.json', {
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [{ id: '0'.repeat(64), name: 'Me', type: 'query', body: 'query Me { me { id } }' }],
    });
    expect(() => TrustedDocuments.load(file)).toThrow(/Me: its id is not the sha256 of its body/);
  });
});
