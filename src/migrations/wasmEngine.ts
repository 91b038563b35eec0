// Loads Prisma's schema (migration) engine from @prisma/schema-engine-wasm. Node 20 cannot import
// the package entry (it imports a `.wasm` file), so the module is instantiated by hand.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

type BindingModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

// The tsconfig libs (ES2023, node) do not declare WebAssembly: the little used here.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
}

let loaded: Promise<BindingModule> | undefined;

function loadBindings(): Promise<BindingModule> {
  loaded ??= (async () => {
    const registry = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(message: string): void } };
    // The engine reports a Rust panic's message here before throwing.
    registry.PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message(message: string) {
        lastPanic = message;
      },
    };
    const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const jsPath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = path.join(path.dirname(jsPath), 'schema_engine_bg.wasm');
    const { Module, Instance } = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new Instance(new Module(fs.readFileSync(wasmPath)), {
      './schema_engine_bg.js': withTrackedTimers(bindings as unknown as Record<string, unknown>),
    });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings;
  })();
  return loaded;
}

let lastPanic: string | undefined;

/** Timers the engine started that have not fired yet. */
const pendingTimers = new Set<NodeJS.Timeout>();

/**
 * The engine's setTimeout import, tracked: on PostgreSQL it leaves a 10 s timer behind after a
 * command completes, which would keep a finished CLI or process alive. withSchemaEngine unrefs
 * whatever is still pending once its work is done (never during it).
 */
function withTrackedTimers(imports: Record<string, unknown>): Record<string, unknown> {
  const wrapped: Record<string, unknown> = { ...imports };
  for (const [name, value] of Object.entries(imports)) {
    if (!name.startsWith('__wbg_setTimeout_') || typeof value !== 'function') continue;
    const original = value as (callback: () => void, ms: number) => NodeJS.Timeout;
    wrapped[name] = (callback: () => void, ms: number): NodeJS.Timeout => {
      const timer: NodeJS.Timeout = original(() => {
        pendingTimers.delete(timer);
        callback();
      }, ms);
      pendingTimers.add(timer);
      return timer;
    };
  }
  return wrapped;
}

let running = 0;

export interface EngineLog {
  level?: string;
  message?: string;
  [key: string]: unknown;
}

/**
 * Runs `fn` with a schema engine for `datamodel` (awaited before `free()`), then disposes every
 * connection the engine opened through `factory`.
 */
export async function withSchemaEngine<T>(
  datamodel: { path: string; content: string },
  factory: SqlMigrationAwareDriverAdapterFactory,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const bindings = await loadBindings();
  running++;
  const logs: EngineLog[] = [];
  const onLog = (line: string): void => {
    try {
      logs.push(JSON.parse(line) as EngineLog);
    } catch {
      logs.push({ message: line });
    }
    if (process.env.DEBUG_SCHEMA_ENGINE) console.error('[schema-engine]', line);
  };
  // The engine does not dispose every connection it opens: track them and dispose them after.
  const opened: SqlDriverAdapter[] = [];
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => track(await factory.connect()),
    connectToShadowDb: async () => track(await factory.connectToShadowDb()),
  };
  const track = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    opened.push(adapter);
    return adapter;
  };
  try {
    const engine = await bindings.SchemaEngine.new(
      { datamodels: [[datamodel.path, datamodel.content]] },
      onLog,
      bindMigrationAwareSqlAdapterFactory(tracked),
    );
    try {
      return await fn(engine);
    } finally {
      engine.free();
    }
  } catch (error) {
    throw engineError(error, logs);
  } finally {
    // Adapters from adapterFixes.ts make dispose idempotent.
    await Promise.allSettled(opened.map((adapter) => adapter.dispose()));
    if (--running === 0) for (const timer of pendingTimers) timer.unref();
  }
}

/** Engine errors arrive as objects or panics: give them a readable message. */
function engineError(error: unknown, logs: EngineLog[]): Error {
  if (error instanceof Error && !lastPanic) return error;
  const panic = lastPanic;
  lastPanic = undefined;
  const detail =
    typeof error === 'object' && error !== null && 'message' in error ? String((error as { message: unknown }).message) : String(error);
  const recent = logs
    .slice(-5)
    .map((l) => l.message ?? JSON.stringify(l))
    .join('\n');
  return new Error(`Schema engine failed: ${panic ?? detail}${recent ? `\nRecent engine log:\n${recent}` : ''}`, { cause: error });
}
