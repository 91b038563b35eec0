import type { Resolvers } from '../generated/graphql.js';
import { identityResolvers } from '../identity/resolvers.js';
import { scalarResolvers } from './scalars.js';

/** Every domain's resolvers; each domain keeps its own in src/<domain>/resolvers.ts. */
export const resolvers: Resolvers[] = [scalarResolvers, identityResolvers];
