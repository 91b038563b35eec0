import { unauthenticated } from '../errors.js';
import type { GraphQLContext, Viewer } from './context.js';

/** The viewer of a field that shield already guards with @auth; throws if called unguarded. */
export function viewerOf(ctx: GraphQLContext): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}
