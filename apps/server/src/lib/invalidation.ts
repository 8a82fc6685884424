import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Tells every node that something cached has changed: `user:<id>`, `session:<id>`, ...
 * Publishing happens after the transaction that made the change commits. The local node
 * applies it synchronously (the next request on this node sees the change); other nodes hear
 * it through Redis pub/sub when REDIS_URL is set (well within a second).
 */
export interface InvalidationBus {
  publish(topic: string): void;
  subscribe(handler: (topic: string) => void): void;
  /** Called when messages may have been missed (a Redis reconnect): drop everything. */
  onReset(handler: () => void): void;
  close(): Promise<void>;
}

const CHANNEL = 'gatehouse:invalidate';

export function createInvalidationBus(options: {
  redisUrl?: string;
  logger: Logger;
}): InvalidationBus {
  const handlers: ((topic: string) => void)[] = [];
  const resetHandlers: (() => void)[] = [];
  const applyLocal = (topic: string) => {
    for (const h of handlers) h(topic);
  };
  if (!options.redisUrl) {
    return {
      publish: applyLocal,
      subscribe: (h) => void handlers.push(h),
      onReset: (h) => void resetHandlers.push(h),
      close: async () => {},
    };
  }
  const nodeId = Math.random().toString(36).slice(2);
  const pub = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const sub = new Redis(options.redisUrl, { lazyConnect: false });
  pub.on('error', (err) => options.logger.warn({ err: err.message }, 'redis publisher error'));
  sub.on('error', (err) => options.logger.warn({ err: err.message }, 'redis subscriber error'));
  let connectedOnce = false;
  sub.on('ready', () => {
    // After a reconnect we may have missed invalidations: start from an empty cache.
    if (connectedOnce) for (const h of resetHandlers) h();
    connectedOnce = true;
  });
  void sub.subscribe(CHANNEL);
  sub.on('message', (_channel, message: string) => {
    const sep = message.indexOf(' ');
    if (message.slice(0, sep) !== nodeId) applyLocal(message.slice(sep + 1));
  });
  return {
    publish(topic) {
      applyLocal(topic);
      pub.publish(CHANNEL, `${nodeId} ${topic}`).catch((err: Error) => {
        options.logger.warn({ err: err.message, topic }, 'could not publish an invalidation');
      });
    },
    subscribe: (h) => void handlers.push(h),
    onReset: (h) => void resetHandlers.push(h),
    async close() {
      sub.disconnect();
      pub.disconnect();
    },
  };
}
