import { unauthenticated } from '../errors.js';
import type { Viewer } from './requestIdentity.js';

/** The viewer of a field that shield already guards with @auth; throws if called unguarded. */
export function viewerOf(ctx: { viewer: Viewer | null }): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}
