import { statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/*
 * Readings of the machine and the process. Windowed readings (CPU, event-loop lag) are advanced by
 * `measure()`, which the sampler calls once per interval; `current()` reads the last window
 * without disturbing it, so systemStatus and the sampler do not steal each other's intervals.
 */

/** Window over which CPU is measured when no sampling interval has completed yet. */
const FIRST_CPU_WINDOW_MS = 100;

interface CpuTimes {
  idle: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

function busyPercent(from: CpuTimes, to: CpuTimes): number {
  const total = to.total - from.total;
  return total > 0 ? round((1 - (to.idle - from.idle) / total) * 100) : 0;
}

/** Whole-machine CPU use between two readings. */
export class CpuMeter {
  private last = cpuTimes();
  private lastPercent: number | undefined;

  /** Use since the previous call; starts the next window. */
  measure(): number {
    const now = cpuTimes();
    this.lastPercent = busyPercent(this.last, now);
    this.last = now;
    return this.lastPercent;
  }

  /** Use over the last completed window; before the first one, measured over a short window now. */
  async current(): Promise<number> {
    if (this.lastPercent !== undefined) return this.lastPercent;
    const start = cpuTimes();
    await sleep(FIRST_CPU_WINDOW_MS);
    return busyPercent(start, cpuTimes());
  }
}

/** The histogram's own timer period; its readings include it, so it is subtracted. */
const LAG_RESOLUTION_MS = 10;

/** Event-loop lag (99th percentile of timer delay beyond its period), from perf_hooks. */
export class EventLoopLag {
  private readonly histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  private lastMs: number | undefined;

  constructor() {
    this.histogram.enable();
  }

  measure(): number {
    this.lastMs = this.read();
    this.histogram.reset();
    return this.lastMs;
  }

  current(): number {
    return this.lastMs ?? this.read();
  }

  stop(): void {
    this.histogram.disable();
  }

  private read(): number {
    if (this.histogram.count === 0) return 0;
    return round(Math.max(0, this.histogram.percentile(99) / 1e6 - LAG_RESOLUTION_MS));
  }
}

export interface MemoryReading {
  totalBytes: number;
  usedBytes: number;
  usagePercent: number;
  rssBytes: number;
  heapUsedBytes: number;
}

/** System memory (used = total − available, which counts the page cache as free) and this process's. */
export function memoryReading(): MemoryReading {
  const totalBytes = os.totalmem();
  const usedBytes = totalBytes - os.freemem();
  const { rss, heapUsed } = process.memoryUsage();
  return { totalBytes, usedBytes, usagePercent: round((usedBytes / totalBytes) * 100), rssBytes: rss, heapUsedBytes: heapUsed };
}

export interface DiskReading {
  totalBytes: number;
  usedBytes: number;
  usagePercent: number;
}

/**
 * The volume holding `dir` (or its nearest existing parent: with PostgreSQL the data directory
 * may never be created). Usage is counted like df: used / (used + available to non-root).
 */
export async function diskReading(dir: string): Promise<DiskReading> {
  let target = path.resolve(dir);
  for (;;) {
    try {
      const fs = await statfs(target);
      const used = (fs.blocks - fs.bfree) * fs.bsize;
      const available = fs.bavail * fs.bsize;
      return { totalBytes: fs.blocks * fs.bsize, usedBytes: used, usagePercent: used + available > 0 ? round((used / (used + available)) * 100) : 0 };
    } catch (error) {
      const parent = path.dirname(target);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === target) throw error;
      target = parent;
    }
  }
}

/** Two decimals: readings are shown and compared, never summed. */
export function round(value: number): number {
  return Math.round(value * 100) / 100;
}
