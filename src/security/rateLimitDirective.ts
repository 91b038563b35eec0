import { getDirective } from '@graphql-tools/utils';
import { Kind, isObjectType, visit, type ArgumentNode, type DirectiveNode, type DocumentNode, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import { rateLimitDirective } from 'graphql-rate-limit-directive';
import type { IRateLimiterOptions, RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitSetting } from '../config/config.js';
import { rateLimited } from '../errors.js';
import type { SecurityContext } from './securityContext.js';
import type { LimiterStore } from './limiterStore.js';
import { retryAfterSeconds } from './limiterStore.js';

/**
 * Whether a field is `@public`: an action for people without an account (register, login,
 * refreshToken). Its limit is per client IP whatever token the request carries; otherwise sending
 * any access token (say, the previous new account's) would open a fresh budget per account.
 */
function isPublicField(info: GraphQLResolveInfo): boolean {
  const field = info.parentType.getFields()[info.fieldName];
  return field?.astNode?.directives?.some((directive) => directive.name.value === 'public') ?? false;
}

/**
 * `@rateLimit(limit, duration)` from graphql-rate-limit-directive, keyed by field and by user id
 * (else client IP; always the IP on `@public` fields), failing with RATE_LIMITED + retryAfter. Each
 * alias consumes a point, so aliases cannot multiply attempts. Limits in the SDL are the defaults;
 * RATE_LIMITS overrides them by coordinate.
 */
export function createRateLimitDirective(store: LimiterStore) {
  // The directive instantiates `limiterClass` per distinct limit; route it through the store.
  // (a constructor may return another object: `new StoreLimiter(...)` yields the store's limiter).
  class StoreLimiter {
    constructor(options: IRateLimiterOptions) {
      return store.create({
        keyPrefix: options.keyPrefix ?? 'rateLimit',
        points: options.points ?? 1,
        durationSeconds: options.duration ?? 60,
      });
    }
  }
  return rateLimitDirective<SecurityContext, IRateLimiterOptions>({
    limiterClass: StoreLimiter as unknown as typeof RateLimiterAbstract,
    keyGenerator: (_args, _source, _fieldArgs, ctx, info) =>
      `${info.parentType.name}.${info.fieldName}:${ctx.viewer && !isPublicField(info) ? `u:${ctx.viewer.id}` : `ip:${ctx.ip}`}`,
    onLimit: (response, _args, _source, _fieldArgs, ctx, info) => {
      ctx.security.rateLimited(ctx, `${info.parentType.name}.${info.fieldName}`);
      throw rateLimited(retryAfterSeconds(response.msBeforeNext));
    },
  });
}

/** Rewrites `@rateLimit` arguments in the SDL for the coordinates RATE_LIMITS overrides. */
export function applyRateLimitOverrides(document: DocumentNode, overrides: Record<string, RateLimitSetting>): DocumentNode {
  if (Object.keys(overrides).length === 0) return document;
  let typeName = '';
  const intArg = (name: string, value: number): ArgumentNode => ({
    kind: Kind.ARGUMENT,
    name: { kind: Kind.NAME, value: name },
    value: { kind: Kind.INT, value: String(value) },
  });
  return visit(document, {
    ObjectTypeDefinition: { enter: (node) => void (typeName = node.name.value) },
    ObjectTypeExtension: { enter: (node) => void (typeName = node.name.value) },
    FieldDefinition(node) {
      const setting = overrides[`${typeName}.${node.name.value}`];
      if (!setting) return undefined;
      const directives = (node.directives ?? []).filter((d) => d.name.value !== 'rateLimit');
      const rateLimit: DirectiveNode = {
        kind: Kind.DIRECTIVE,
        name: { kind: Kind.NAME, value: 'rateLimit' },
        arguments: [intArg('limit', setting.limit), intArg('duration', setting.durationSeconds)],
      };
      return { ...node, directives: [...directives, rateLimit] };
    },
  });
}

/** The coordinates (`Type.field`) that carry `@rateLimit`: the bounded label values of its rejections. */
export function rateLimitedCoordinates(schema: GraphQLSchema): string[] {
  const coordinates: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (getDirective(schema, field, 'rateLimit')?.length) coordinates.push(`${type.name}.${field.name}`);
    }
  }
  return coordinates;
}
