/**
 * A per-node read-through cache whose entries are dropped by the writes that change them
 * (see invalidation.ts), never by hoping a TTL is short. The TTL here is only a backstop for a
 * lost cross-node message.
 *
 * A load that started before an invalidation must not store its (stale) result after it: each
 * key carries a generation, bumped on invalidation, and a load stores only if the generation it
 * saw at its start is still current.
 */
export class InvalidatingCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private readonly generations = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<V>>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  peek(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > this.now()) return hit.value;
    return undefined;
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.peek(key);
    if (hit !== undefined) return hit;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const generation = this.generations.get(key) ?? 0;
    const promise = load().then(
      (value) => {
        this.inflight.delete(key);
        if ((this.generations.get(key) ?? 0) === generation) this.set(key, value);
        return value;
      },
      (error) => {
        this.inflight.delete(key);
        throw error;
      },
    );
    this.inflight.set(key, promise);
    return promise;
  }

  set(key: string, value: V) {
    if (this.entries.size >= this.maxEntries) {
      // Dropping the oldest insertion is enough here: entries are cheap to reload.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
  }

  invalidate(key: string) {
    this.entries.delete(key);
    this.inflight.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
    // Generations only matter while a load may be in flight; keep the map bounded.
    if (this.generations.size > this.maxEntries * 2) this.generations.clear();
  }

  clear() {
    this.entries.clear();
    this.inflight.clear();
    this.generations.clear();
  }
}
