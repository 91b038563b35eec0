import type { Metrics } from '../observability/metrics.js';
import { CpuMeter, EventLoopLag, diskReading, memoryReading } from './readings.js';
import { TrafficMeter, type TrafficReading } from './traffic.js';

/** One interval's readings: what a MetricSample stores and what the alert rules judge. */
export interface Readings extends TrafficReading {
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
  eventLoopLagMs: number;
}

/** The meters of one instance; `measure()` closes one sampling interval and opens the next. */
export class SystemMeters {
  readonly cpu = new CpuMeter();
  readonly eventLoopLag = new EventLoopLag();
  private readonly traffic: TrafficMeter;

  constructor(
    private readonly metrics: Metrics,
    readonly dataDir: string,
  ) {
    this.traffic = new TrafficMeter(metrics);
  }

  /** Also sets the system gauges of /metrics, which ops/alerts.yml judges like the alert engine. */
  async measure(): Promise<Readings> {
    const [traffic, disk] = await Promise.all([this.traffic.measure(), diskReading(this.dataDir)]);
    const readings: Readings = {
      cpuPercent: this.cpu.measure(),
      memoryPercent: memoryReading().usagePercent,
      diskPercent: disk.usagePercent,
      eventLoopLagMs: this.eventLoopLag.measure(),
      ...traffic,
    };
    this.metrics.systemCpu.set(readings.cpuPercent / 100);
    this.metrics.systemMemory.set(readings.memoryPercent / 100);
    this.metrics.dataVolume.set(readings.diskPercent / 100);
    return readings;
  }

  stop(): void {
    this.eventLoopLag.stop();
  }
}
