import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { concatAST, defaultFieldResolver, parse, type DocumentNode, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import type { Config } from '../config/config.js';
import { projectRoot } from '../db/projectPaths.js';
import type { Resolvers } from '../generated/graphql.js';
import type { LimiterStore } from '../security/limiterStore.js';
import { applyRateLimitOverrides, createRateLimitDirective } from '../security/rateLimitDirective.js';
import { shieldMiddleware } from '../security/shieldRules.js';

/** The SDL: every `.graphql` file in schema/, one per domain. */
export function loadTypeDefs(dir = path.join(projectRoot(), 'schema')): DocumentNode {
  const files = readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort();
  return concatAST(files.map((f) => parse(readFileSync(path.join(dir, f), 'utf8'), { noLocation: false })));
}

export interface BuildSchemaOptions {
  typeDefs: DocumentNode;
  resolvers: Resolvers | Resolvers[];
  config: Pick<Config, 'features' | 'rateLimits'>;
  limiterStore: LimiterStore;
}

/**
 * The executable schema with its declared security applied, in this order:
 * 1. policy check: the server refuses to start when a root field declares no policy;
 * 2. graphql-shield rules derived from @public/@auth/@selfOr/@feature (deny by default);
 * 3. @rateLimit, wrapping shield (so limit errors are not hidden and denied calls still count).
 */
export function buildSchema(options: BuildSchemaOptions): GraphQLSchema {
  const typeDefs = applyRateLimitOverrides(options.typeDefs, options.config.rateLimits);
  const base = makeExecutableSchema({ typeDefs, resolvers: options.resolvers });
  const shielded = shieldAtSubscribe(base, (schema) => applyMiddleware(schema, shieldMiddleware(schema, options.config.features)));
  const { rateLimitDirectiveTransformer } = createRateLimitDirective(options.limiterStore);
  return rateLimitDirectiveTransformer(shielded);
}

/**
 * graphql-middleware wraps a field's `resolve` when it has one, so on a Subscription field with
 * both `subscribe` and `resolve` shield would run per event, after the subscription is set up
 * (graphql-shield #27). Shield is applied with those `resolve`s set aside, so it wraps `subscribe`
 * and refuses an unauthorised client when it subscribes; they are put back afterwards.
 */
function shieldAtSubscribe(schema: GraphQLSchema, applyShield: (schema: GraphQLSchema) => GraphQLSchema): GraphQLSchema {
  const resolvers = new Map<string, GraphQLFieldResolver<unknown, unknown>>();
  const setAside = mapSchema(schema, {
    [MapperKind.SUBSCRIPTION_ROOT_FIELD]: (field, fieldName) => {
      if (field.resolve) resolvers.set(fieldName, field.resolve);
      return { ...field, resolve: undefined, subscribe: field.subscribe ?? defaultFieldResolver };
    },
  });
  return mapSchema(applyShield(setAside), {
    [MapperKind.SUBSCRIPTION_ROOT_FIELD]: (field, fieldName) => ({ ...field, resolve: resolvers.get(fieldName) }),
  });
}
