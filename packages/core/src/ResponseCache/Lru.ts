/**
 * The ResponseCache's memory tier: an LRU bounded by entry count and total
 * bytes, with an expiry per entry. A Map keeps insertion order, so a read
 * moves the key to the end (delete + set) and eviction pops from the front:
 * get, set and delete are O(1) amortised.
 *
 * Not an Effect service: the ResponseCache owns one and touches it only in
 * synchronous steps.
 */

/** An LRU slot. */
export interface LruEntry<A> {
  readonly value: A
  readonly bytes: number
  readonly expiresAt: number
}

/** A size- and byte-bounded LRU with per-entry expiry. */
export class Lru<A> {
  readonly #entries = new Map<string, LruEntry<A>>()
  #bytes = 0

  /** Entry count. */
  get size(): number {
    return this.#entries.size
  }

  /** Total bytes of the entries. */
  get bytes(): number {
    return this.#bytes
  }

  /** Keys, least recently used first. */
  keys(): Array<string> {
    return [...this.#entries.keys()]
  }

  /**
   * The live entry under `key`, now the most recently used. An expired entry
   * is removed and reported as `"expired"`.
   */
  get(key: string, now: number): LruEntry<A> | "expired" | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (now >= entry.expiresAt) {
      this.#bytes -= entry.bytes
      return "expired"
    }
    this.#entries.set(key, entry)
    return entry
  }

  /** Whether `key` is present (expired or not), without changing its recency. */
  has(key: string): boolean {
    return this.#entries.has(key)
  }

  /**
   * Insert or replace `key` as the most recently used, then evict least
   * recently used entries until both bounds hold. An entry larger than
   * `maxBytes` is not stored. Returns the evicted keys.
   */
  set(key: string, entry: LruEntry<A>, maxEntries: number, maxBytes: number): Array<string> {
    this.delete(key)
    if (entry.bytes > maxBytes || maxEntries < 1) return []
    this.#entries.set(key, entry)
    this.#bytes += entry.bytes
    return this.shrink(maxEntries, maxBytes)
  }

  /** Evict least recently used entries until both bounds hold. Returns the evicted keys. */
  shrink(maxEntries: number, maxBytes: number): Array<string> {
    const evicted: Array<string> = []
    while (this.#entries.size > maxEntries || this.#bytes > maxBytes) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) break
      this.delete(oldest.value)
      evicted.push(oldest.value)
    }
    return evicted
  }

  /** Remove `key`; true when it was present. */
  delete(key: string): boolean {
    const entry = this.#entries.get(key)
    if (entry === undefined) return false
    this.#entries.delete(key)
    this.#bytes -= entry.bytes
    return true
  }

  /** Remove every entry `covers` holds to; how many. */
  deleteWhere(covers: (key: string, entry: LruEntry<A>) => boolean): number {
    let removed = 0
    for (const [key, entry] of this.#entries) {
      if (covers(key, entry)) {
        this.delete(key)
        removed++
      }
    }
    return removed
  }

  /** Remove every entry expired at `now`. Returns the removed keys. */
  sweep(now: number): Array<string> {
    const removed: Array<string> = []
    for (const [key, entry] of this.#entries) {
      if (now >= entry.expiresAt) removed.push(key)
    }
    for (const key of removed) this.delete(key)
    return removed
  }

  /** Remove everything. */
  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }
}
