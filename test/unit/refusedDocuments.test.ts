import type { GraphQLResponse } from '@apollo/server';
import { describe, expect, it } from 'vitest';
import { RefusedDocuments } from '../../src/graphql/refusedDocuments.js';

const refusal = (message: string): GraphQLResponse =>
  ({ http: { status: 400, headers: new Map() }, body: { kind: 'single', singleResult: { errors: [{ message }] } } }) as unknown as GraphQLResponse;

describe('RefusedDocuments', () => {
  it('remembers a refused document by its exact text', () => {
    const refused = new RefusedDocuments();
    refused.remember('{ a }', refusal('no a'));
    expect(refused.errorsFor('{ a }')?.[0]?.message).toBe('no a');
    expect(refused.errorsFor('{ a } ')).toBeUndefined();
  });

  it('keeps at most 4 Mi characters of documents, forgetting the oldest first', () => {
    const refused = new RefusedDocuments();
    const document = (i: number) => `{ a } #${String(i).padStart(4, '0')}${'x'.repeat(1024 * 1024 - 12)}`; // 1 Mi characters
    for (let i = 0; i < 5; i++) refused.remember(document(i), refusal(`refusal ${i}`));
    expect(refused.errorsFor(document(0))).toBeUndefined();
    for (let i = 1; i < 5; i++) expect(refused.errorsFor(document(i))?.[0]?.message).toBe(`refusal ${i}`);
  });

  it('never remembers a document larger than its whole budget', () => {
    const refused = new RefusedDocuments();
    refused.remember('{ a }', refusal('small'));
    const huge = `{ a } #${'x'.repeat(4 * 1024 * 1024)}`;
    refused.remember(huge, refusal('huge'));
    expect(refused.errorsFor(huge)).toBeUndefined();
    expect(refused.errorsFor('{ a }')?.[0]?.message).toBe('small');
  });
});
