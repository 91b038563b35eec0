import { analyticsResolvers } from '../analytics/resolvers.js';
import { auditResolvers } from '../audit/resolvers.js';
import { exportResolvers } from '../exports/resolvers.js';
import type { Resolvers } from '../generated/graphql.js';
import { identityResolvers } from '../identity/resolvers.js';
import { reportResolvers } from '../reports/resolvers.js';
import { systemResolvers } from '../system/resolvers.js';
import { scalarResolvers } from './scalars.js';

/** Every domain's resolvers; each domain keeps its own in src/<domain>/resolvers.ts. */
export const resolvers: Resolvers[] = [
  scalarResolvers,
  identityResolvers,
  reportResolvers,
  analyticsResolvers,
  exportResolvers,
  auditResolvers,
  systemResolvers,
];
