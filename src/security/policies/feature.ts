import { rule } from 'graphql-shield';
import type { FeatureName } from '../../config/config.js';
import { featureDisabled } from '../../errors.js';
import type { PolicyDirective } from './policyDirective.js';

/** `@feature(name:)`: the field's area must be switched on (ENABLE_*), else FEATURE_DISABLED. */
export const featurePolicy: PolicyDirective = {
  name: 'feature',
  access: false,
  rule: (args, env) => {
    const name = args['name'] as FeatureName;
    return rule(`feature:${name}`, { cache: 'contextual' })(() => (env.features[name] ? true : featureDisabled(name)));
  },
};
