// What every baseline serves: Bastion's own SDL with a constant `me`, so stacks differ only in
// their HTTP layer and security, not in data access.
import { loadTypeDefs } from '../../src/graphql/schema.js';

export const typeDefs = loadTypeDefs();

export const ME = { id: '5f0c6d1e-4d7a-4c1b-9a57-2f4b8a2e1c01', email: 'bench@example.com', username: 'bench', role: 'USER', createdAt: '2026-01-01T00:00:00.000Z' };

export const constantResolvers = {
  Query: { me: () => ME },
};

/** The secret the "typical secured stack" baseline verifies tokens with. */
export const BASELINE_JWT_SECRET = 'baseline-secret-of-at-least-32-bytes-long!!';

export function portArgument(): number {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) throw new Error('usage: <baseline> <port>');
  return port;
}

/** Tells the bench runner the server listens. */
export function announce(port: number): void {
  console.log(JSON.stringify({ msg: 'listening', port }));
}
