import { allow } from 'graphql-shield';
import type { PolicyDirective } from './policyDirective.js';

/** `@public`: anyone, signed in or not. */
export const publicPolicy: PolicyDirective = {
  name: 'public',
  access: true,
  rule: () => allow,
};
