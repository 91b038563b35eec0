// The layer rules of src/ (README, Architecture), checked by `npm run check:layers` in CI.
// From the bottom up; a module may import its own layer and the layers below it, never above.
const PLATFORM = '^src/(config|db|messaging|observability)/|^src/errors[.]ts$';
const MIGRATIONS = '^src/migrations/';
const KERNEL = '^src/kernel/';
const SECURITY = '^src/security/';
const DOMAIN_FOLDERS = '^src/(identity|reports|analytics|exports|audit|system)/';
const RESOLVERS = '^src/[^/]+/resolvers[.]ts$';
const API = '^src/graphql/|^src/services[.]ts$|' + RESOLVERS;
const HTTP = '^src/http/';
const APP = '^src/(app|main)[.]ts$';

const above = (...layers) => ({ path: layers.join('|') });

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles tie layers together.', from: {}, to: { circular: true } },
    {
      name: 'platform-is-the-floor',
      severity: 'error',
      comment: 'config, db, messaging, observability and errors know nothing of what is built on them.',
      from: { path: PLATFORM },
      to: above(MIGRATIONS, KERNEL, SECURITY, DOMAIN_FOLDERS, API, HTTP, APP),
    },
    {
      name: 'migrations-only-for-start-up-and-scripts',
      severity: 'error',
      comment: 'Migration tooling is used by the composition root and scripts, nothing else in src/.',
      from: { path: '^src/', pathNot: `${MIGRATIONS}|${APP}` },
      to: { path: MIGRATIONS },
    },
    {
      name: 'kernel-below-security',
      severity: 'error',
      from: { path: KERNEL },
      to: above(MIGRATIONS, SECURITY, DOMAIN_FOLDERS, API, HTTP, APP),
    },
    {
      name: 'security-below-domains',
      severity: 'error',
      from: { path: SECURITY },
      to: above(DOMAIN_FOLDERS, API, HTTP, APP),
    },
    {
      name: 'domains-below-the-api',
      severity: 'error',
      comment: 'A domain service takes what it uses; it never reaches for the API assembly, a transport or the Services bag.',
      from: { path: DOMAIN_FOLDERS, pathNot: RESOLVERS },
      to: above(API, HTTP, APP),
    },
    { name: 'api-below-http', severity: 'error', from: { path: API }, to: above(HTTP, APP) },
    { name: 'http-below-app', severity: 'error', from: { path: HTTP }, to: above(APP) },
    {
      name: 'http-takes-what-it-uses',
      severity: 'error',
      comment: 'Routes are given the parts they use; only the API assembly sees the Services bag.',
      from: { path: HTTP },
      to: { path: '^src/services[.]ts$' },
    },
  ],
  options: {
    // Type-only imports count: a type is as much a dependency as a value.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Generated code (Prisma clients, codegen types) is outside the layering.
    exclude: { path: '^src/generated/' },
    doNotFollow: { path: 'node_modules' },
  },
};
