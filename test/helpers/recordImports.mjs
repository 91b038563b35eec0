// `node --import ./test/helpers/recordImports.mjs`: appends every module URL the process resolves
// (ES modules through the loader, CommonJS through require) to the file named by RECORD_IMPORTS_TO.
// Used to show what a server loads, e.g. that nothing of OpenTelemetry is loaded when tracing is off.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const file = process.env.RECORD_IMPORTS_TO;
if (file) {
  register(
    `data:text/javascript,${encodeURIComponent(`
      import { appendFileSync } from 'node:fs';
      export async function resolve(specifier, context, next) {
        const resolved = await next(specifier, context);
        appendFileSync(${JSON.stringify(file)}, resolved.url + '\\n');
        return resolved;
      }
    `)}`,
  );
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (...args) {
    const resolved = resolveFilename.apply(this, args);
    appendFileSync(file, resolved + '\n');
    return resolved;
  };
}
