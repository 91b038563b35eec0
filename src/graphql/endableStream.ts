/**
 * Wraps a subscription's event stream so that the server can end it: `end(final)` delivers
 * `final` as the last event (even while the stream is waiting for its next one), stops the
 * source, and completes. `ended` resolves once the consumer has seen the completion.
 */
export function endableStream<T>(source: AsyncIterator<T>): { stream: AsyncIterableIterator<T>; end(final: T): Promise<void> } {
  let state: 'open' | 'ending' | 'done' = 'open';
  let final: T | undefined;
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let completed: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (completed = resolve));

  const stop = () => {
    void source.return?.();
  };
  const done = (): IteratorResult<T> => {
    state = 'done';
    completed();
    return { value: undefined, done: true };
  };

  const stream: AsyncIterableIterator<T> = {
    next() {
      if (state === 'done') return Promise.resolve(done());
      if (state === 'ending') {
        state = 'done';
        return Promise.resolve({ value: final as T, done: false });
      }
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        waiting = resolve;
        source.next().then(
          (result) => {
            if (waiting !== resolve) return; // ended meanwhile: that answer was given already
            waiting = undefined;
            resolve(result.done ? done() : result);
          },
          (error: unknown) => {
            if (waiting !== resolve) return;
            waiting = undefined;
            reject(error);
          },
        );
      });
    },
    return() {
      const pending = waiting;
      waiting = undefined;
      stop();
      pending?.({ value: undefined, done: true });
      return Promise.resolve(done());
    },
    throw(error?: unknown) {
      stop();
      done();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };

  return {
    stream,
    end(last: T) {
      if (state !== 'open') return ended;
      stop();
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        state = 'done';
        resolve({ value: last, done: false });
      } else {
        state = 'ending';
        final = last;
      }
      return ended;
    },
  };
}
