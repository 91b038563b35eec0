/**
 * GraphQL requests still being served, whether or not their client is still connected. Closing the
 * HTTP server waits for open connections only: a request whose client hung up keeps running
 * (a mutation, then its audit entry) after its socket is gone, so the drain waits here as well.
 */
export class InFlightRequests {
  private count = 0;
  private waiters: Array<() => void> = [];

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      if (--this.count === 0) for (const resolve of this.waiters.splice(0)) resolve();
    }
  }

  /** Resolves once no request is being served. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  get size(): number {
    return this.count;
  }
}
