import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

/**
 * Publish/subscribe between the parts of one instance and, with Redis, across instances.
 * Local subscribers always get a message at once; Redis carries it to the other instances, so a
 * Redis outage only cuts the cross-instance leg.
 */
export interface PubSub {
  publish(channel: string, message: unknown): void;
  subscribe(channel: string, handler: (message: unknown) => void): () => void;
  /**
   * Whether a message published now reaches every instance: always without Redis (one instance),
   * with Redis only while both connections are up. Caches invalidated through pub/sub shorten
   * their lifetime while it is false.
   */
  reachesEveryInstance(): boolean;
  /** Calls `handler` each time cross-instance delivery comes back after an outage (messages may have been missed). */
  onRestored(handler: () => void): void;
  /** An async iterator of a channel's messages, for GraphQL subscriptions. */
  iterate<T>(channel: string, filter?: (message: T) => boolean): AsyncIterableIterator<T>;
  close(): Promise<void>;
}

interface Envelope {
  origin: string;
  message: unknown;
}

/** In-process pub/sub; with `redis` (a publisher and a dedicated subscriber connection) also cross-instance. */
export function createPubSub(options: { redis?: { publisher: Redis; subscriber: Redis; prefix: string }; logger: Logger }): PubSub {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  const origin = randomUUID();
  const redis = options.redis;
  const subscribed = new Set<string>();

  if (redis) {
    redis.subscriber.on('message', (fullChannel: string, raw: string) => {
      try {
        const envelope = JSON.parse(raw) as Envelope;
        if (envelope.origin === origin) return; // delivered locally already
        local.emit(fullChannel.slice(redis.prefix.length), envelope.message);
      } catch (error) {
        options.logger.warn({ err: error, channel: fullChannel }, 'dropped a malformed pub/sub message');
      }
    });
    // Every (re)connection subscribes to every channel again: ioredis re-subscribes only what it saw
    // succeed, and a SUBSCRIBE that failed (sent while the connection was not ready) is never retried.
    redis.subscriber.on('ready', () => {
      if (subscribed.size === 0) return;
      redis.subscriber.subscribe(...[...subscribed].map((channel) => redis.prefix + channel)).catch((error: unknown) => {
        options.logger.warn({ err: error }, 'pub/sub re-subscribe failed; will retry on reconnect');
      });
    });
  }

  const pubsub: PubSub = {
    publish(channel, message) {
      local.emit(channel, message);
      if (redis) {
        const envelope: Envelope = { origin, message };
        redis.publisher.publish(redis.prefix + channel, JSON.stringify(envelope)).catch((error: unknown) => {
          options.logger.warn({ err: error, channel }, 'pub/sub publish to Redis failed; delivered locally only');
        });
      }
    },
    subscribe(channel, handler) {
      local.on(channel, handler);
      if (redis && !subscribed.has(channel)) {
        subscribed.add(channel);
        redis.subscriber.subscribe(redis.prefix + channel).catch((error: unknown) => {
          options.logger.warn({ err: error, channel }, 'pub/sub subscribe failed; will retry on reconnect');
        });
      }
      return () => local.off(channel, handler);
    },
    reachesEveryInstance() {
      return !redis || (redis.publisher.status === 'ready' && redis.subscriber.status === 'ready');
    },
    onRestored(handler) {
      // 'ready' also fires on the first connection; a handler that clears caches is harmless then.
      redis?.subscriber.on('ready', handler);
      redis?.publisher.on('ready', handler);
    },
    iterate<T>(channel: string, filter?: (message: T) => boolean) {
      return channelIterator<T>((push) => pubsub.subscribe(channel, (m) => push(m as T)), filter);
    },
    async close() {
      local.removeAllListeners();
    },
  };
  return pubsub;
}

/** Most messages a slow subscriber may have waiting; older ones are dropped first. */
const MAX_BUFFERED = 1000;

function channelIterator<T>(
  listen: (push: (message: T) => void) => () => void,
  filter?: (message: T) => boolean,
): AsyncIterableIterator<T> {
  const buffer: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let done = false;
  const unlisten = listen((message) => {
    if (done || (filter && !filter(message))) return;
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: message, done: false });
    } else {
      buffer.push(message);
      if (buffer.length > MAX_BUFFERED) buffer.shift();
    }
  });
  const finish = (): IteratorResult<T> => {
    if (!done) {
      done = true;
      unlisten();
      buffer.length = 0;
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
    }
    return { value: undefined, done: true };
  };
  return {
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift() as T, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return() {
      return Promise.resolve(finish());
    },
    throw(error?: unknown) {
      finish();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
