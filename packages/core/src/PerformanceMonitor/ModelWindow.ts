/**
 * One model's rolling windows:
 * - recent: a ring of the last `recentRequests` calls, read back only if they
 *   are within `recentWindowMs`; its percentiles are exact (nearest rank);
 * - baseline: fixed time slots (1/60 of `baselineWindowMs` each) holding counts
 *   and a log-bucket latency histogram (see Histogram.ts for the error bound),
 *   covering `[now - baselineWindowMs, now - recentWindowMs)` at slot
 *   granularity, so the baseline does not include the window it is compared with.
 *
 * Memory per model: the ring plus at most ~62 slots of at most ~450 buckets.
 *
 * Both statistics are cached with the span of `now` over which they cannot
 * change (until a sample enters or leaves the window): the selector reads
 * them for every request, and merging the baseline histograms is costly.
 * A new sample drops the recent cache, and the baseline cache only when the
 * sample's slot lies in the baseline somewhere in that span.
 *
 * Recording is O(log n + n) with no sort: the ring keeps its successful
 * latencies and its TTFTs in sorted arrays, updated as samples enter and
 * leave it. When every call of the ring lies in the recent window (the usual
 * case under traffic) the recent statistics are one pass over the ring plus
 * percentiles read off those arrays; otherwise they are computed from the
 * calls in the window (`#computeRecentStats`), as before.
 */
import { exactQuantile, LogHistogram } from "./Histogram.js"

/** One observed call. */
export interface Sample {
  readonly at: number
  readonly latencyMs: number
  readonly ttftMs: number | undefined
  readonly success: boolean
  readonly errorClass: string | undefined
  readonly outputTokens: number
}

/** Window sizes (from `performance` config). */
export interface WindowConfig {
  readonly recentRequests: number
  readonly recentWindowMs: number
  readonly baselineWindowMs: number
}

/** Statistics of the recent window. */
export interface RecentStats {
  readonly requests: number
  readonly successes: number
  readonly errorRate: number
  /** Latency percentiles of successful calls (all calls when none succeeded). */
  readonly latency: { readonly p50: number; readonly p95: number; readonly p99: number }
  /** How many latencies the percentiles are over. */
  readonly latencySamples: number
  readonly ttftP50: number | undefined
  readonly tokensPerSecond: number | undefined
  readonly errorsByClass: Record<string, number>
}

/** Statistics of the baseline window. */
export interface BaselineStats {
  readonly requests: number
  readonly errorRate: number
  readonly latencySamples: number
  readonly latencyP50: number | undefined
  readonly latencyP95: number | undefined
}

interface Slot {
  readonly start: number
  count: number
  errors: number
  readonly latency: LogHistogram
}

/** A statistic computed at `from`, valid for any `now` in `[from, until)` under the same window sizes. */
interface Cached<A> {
  readonly from: number
  readonly until: number
  readonly recentRequests: number
  readonly recentWindowMs: number
  readonly baselineWindowMs: number
  readonly value: A
}

const cacheHolds = <A>(cached: Cached<A> | undefined, now: number, config: WindowConfig): cached is Cached<A> =>
  cached !== undefined &&
  now >= cached.from &&
  now < cached.until &&
  cached.recentRequests === config.recentRequests &&
  cached.recentWindowMs === config.recentWindowMs &&
  cached.baselineWindowMs === config.baselineWindowMs

/** Slots per baseline window. */
const slotsPerBaseline = 60

const sortedNumbers = (values: ReadonlyArray<number>): Array<number> => values.slice().sort((a, b) => a - b)

/** First index of `sorted` whose value is not below `value`. */
const lowerBound = (sorted: ReadonlyArray<number>, value: number): number => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Insert `value` keeping `sorted` sorted; false for a value that does not order (NaN). */
const insertSorted = (sorted: Array<number>, value: number): boolean => {
  if (Number.isNaN(value)) return false
  sorted.splice(lowerBound(sorted, value), 0, value)
  return true
}

/** Remove one `value` from `sorted`; false when it is not there. */
const removeSorted = (sorted: Array<number>, value: number): boolean => {
  const i = lowerBound(sorted, value)
  if (sorted[i] !== value) return false
  sorted.splice(i, 1)
  return true
}

const windowSizes = (config: WindowConfig) => ({
  recentRequests: config.recentRequests,
  recentWindowMs: config.recentWindowMs,
  baselineWindowMs: config.baselineWindowMs
})

/** The rolling windows of one model. */
export class ModelWindow {
  #ring: Array<Sample> = []
  #next = 0
  readonly #slots = new Map<number, Slot>()
  #slotWidth = 0
  #recentCache: Cached<RecentStats | undefined> | undefined = undefined
  #baselineCache: Cached<BaselineStats> | undefined = undefined
  /** Latencies of the ring's successful calls, and the ring's TTFTs, sorted; invalid after an odd value (NaN). */
  #okLatencies: Array<number> = []
  #ttfts: Array<number> = []
  #sortedValid = true
  /** The latest slot start pruned for, and under which baseline window. */
  #prunedFor = Number.NEGATIVE_INFINITY
  #prunedWindow = 0
  /** Degradation state per metric, for once-per-transition events. */
  readonly degraded = { latency: false, error_rate: false }

  /** Add a call. */
  add(sample: Sample, config: WindowConfig): void {
    this.#recentCache = undefined
    this.#resize(config.recentRequests)
    if (this.#ring.length < config.recentRequests) {
      this.#ring.push(sample)
    } else {
      this.#leaveSorted(this.#ring[this.#next]!)
      this.#ring[this.#next] = sample
      this.#next = (this.#next + 1) % config.recentRequests
    }
    this.#enterSorted(sample)
    const width = Math.max(1, Math.ceil(config.baselineWindowMs / slotsPerBaseline))
    if (width !== this.#slotWidth) {
      this.#slots.clear()
      this.#slotWidth = width
      this.#baselineCache = undefined
    }
    const start = Math.floor(sample.at / width) * width
    const cached = this.#baselineCache
    if (
      cached !== undefined &&
      start + width + cached.recentWindowMs < cached.until &&
      start + width + cached.baselineWindowMs > cached.from
    ) this.#baselineCache = undefined
    let slot = this.#slots.get(start)
    if (slot === undefined) {
      slot = { start, count: 0, errors: 0, latency: new LogHistogram() }
      this.#slots.set(start, slot)
    }
    slot.count++
    if (sample.success) slot.latency.add(sample.latencyMs)
    else slot.errors++
    // Pruning depends only on the newest slot seen: skip it while samples stay in a pruned-for slot.
    if (start > this.#prunedFor || config.baselineWindowMs !== this.#prunedWindow) {
      this.#prunedFor = start
      this.#prunedWindow = config.baselineWindowMs
      this.#prune(sample.at, config)
    }
  }

  #enterSorted(sample: Sample): void {
    if (!this.#sortedValid) return
    if (sample.success && !insertSorted(this.#okLatencies, sample.latencyMs)) this.#sortedValid = false
    if (sample.ttftMs !== undefined && !insertSorted(this.#ttfts, sample.ttftMs)) this.#sortedValid = false
  }

  #leaveSorted(sample: Sample): void {
    if (!this.#sortedValid) return
    if (sample.success && !removeSorted(this.#okLatencies, sample.latencyMs)) this.#sortedValid = false
    if (sample.ttftMs !== undefined && !removeSorted(this.#ttfts, sample.ttftMs)) this.#sortedValid = false
  }

  /** Rebuild the sorted arrays from the ring (after a resize, or to recover from an odd value). */
  #rebuildSorted(): void {
    this.#okLatencies = sortedNumbers(this.#ring.flatMap((s) => (s.success ? [s.latencyMs] : [])))
    this.#ttfts = sortedNumbers(this.#ring.flatMap((s) => (s.ttftMs === undefined ? [] : [s.ttftMs])))
    this.#sortedValid = [...this.#okLatencies, ...this.#ttfts].every((v) => !Number.isNaN(v))
  }

  /** Calls in the recent window at `now`, oldest first. */
  recent(now: number, config: WindowConfig): Array<Sample> {
    return this.#lastCalls(config).filter((sample) => sample.at > now - config.recentWindowMs && sample.at <= now)
  }

  /** The last `recentRequests` calls, oldest first, whatever their time. */
  #lastCalls(config: WindowConfig): ReadonlyArray<Sample> {
    if (this.#next === 0 && this.#ring.length <= config.recentRequests) return this.#ring
    const ordered = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)]
    return ordered.slice(-config.recentRequests)
  }

  /** Statistics of the recent window; undefined when it is empty. */
  recentStats(now: number, config: WindowConfig): RecentStats | undefined {
    const cached = this.#recentCache
    if (cacheHolds(cached, now, config)) return cached.value
    const ring = this.#ring
    const size = ring.length
    const whole = size <= config.recentRequests && this.#sortedValid
    // One pass over the ring, oldest first: the next `now` at which a sample enters (its `at`) or
    // leaves (`at + recentWindowMs`) the window, whether every call of the ring is in the window,
    // and (for that case) the counts of the statistics.
    let until = Number.POSITIVE_INFINITY
    let allIn = true
    let successes = 0
    let tokens = 0
    let latencyOfProducing = 0
    let errorsByClass: Record<string, number> | undefined
    for (let i = 0; i < size; i++) {
      const sample = ring[(this.#next + i) % size]!
      const boundary = sample.at > now ? sample.at : sample.at + config.recentWindowMs
      if (boundary > now && boundary < until) until = boundary
      if (!(sample.at > now - config.recentWindowMs && sample.at <= now)) allIn = false
      if (sample.success) {
        successes++
        if (sample.outputTokens > 0) {
          tokens += sample.outputTokens
          latencyOfProducing += sample.latencyMs
        }
      } else {
        const name = sample.errorClass ?? "unknown"
        errorsByClass ??= {}
        errorsByClass[name] = (errorsByClass[name] ?? 0) + 1
      }
    }
    let value: RecentStats | undefined
    if (whole && allIn && successes > 0) {
      // Every call of the ring counts: percentiles straight from the sorted arrays.
      const latencies = this.#okLatencies
      const q = (p: number) => exactQuantile(latencies, p) ?? 0
      const seconds = latencyOfProducing / 1_000
      value = {
        requests: size,
        successes,
        errorRate: (size - successes) / size,
        latency: { p50: q(0.5), p95: q(0.95), p99: q(0.99) },
        latencySamples: latencies.length,
        ttftP50: exactQuantile(this.#ttfts, 0.5),
        tokensPerSecond: tokens > 0 && seconds > 0 ? tokens / seconds : undefined,
        errorsByClass: errorsByClass ?? {}
      }
    } else {
      value = this.#computeRecentStats(now, config)
    }
    this.#recentCache = { from: now, until, ...windowSizes(config), value }
    return value
  }

  /** Statistics of the recent window computed from its calls (the reference the fast path matches). */
  computeRecentStats(now: number, config: WindowConfig): RecentStats | undefined {
    return this.#computeRecentStats(now, config)
  }

  #computeRecentStats(now: number, config: WindowConfig): RecentStats | undefined {
    const samples = this.recent(now, config)
    if (samples.length === 0) return undefined
    const ok = samples.filter((sample) => sample.success)
    const latencies = sortedNumbers((ok.length > 0 ? ok : samples).map((sample) => sample.latencyMs))
    const ttfts = sortedNumbers(samples.flatMap((sample) => (sample.ttftMs === undefined ? [] : [sample.ttftMs])))
    const errorsByClass: Record<string, number> = {}
    for (const sample of samples) {
      if (!sample.success) {
        const name = sample.errorClass ?? "unknown"
        errorsByClass[name] = (errorsByClass[name] ?? 0) + 1
      }
    }
    const producing = ok.filter((sample) => sample.outputTokens > 0)
    const tokens = producing.reduce((sum, sample) => sum + sample.outputTokens, 0)
    const seconds = producing.reduce((sum, sample) => sum + sample.latencyMs, 0) / 1_000
    const q = (p: number) => exactQuantile(latencies, p) ?? 0
    return {
      requests: samples.length,
      successes: ok.length,
      errorRate: (samples.length - ok.length) / samples.length,
      latency: { p50: q(0.5), p95: q(0.95), p99: q(0.99) },
      latencySamples: latencies.length,
      ttftP50: exactQuantile(ttfts, 0.5),
      tokensPerSecond: tokens > 0 && seconds > 0 ? tokens / seconds : undefined,
      errorsByClass
    }
  }

  /** Statistics of the baseline window at `now` (before the recent window). */
  baselineStats(now: number, config: WindowConfig): BaselineStats {
    const cached = this.#baselineCache
    if (cacheHolds(cached, now, config)) return cached.value
    const latency = new LogHistogram()
    let requests = 0
    let errors = 0
    // A slot is in the baseline for `now` in [end + recentWindowMs, end + baselineWindowMs).
    let until = Number.POSITIVE_INFINITY
    for (const slot of this.#slots.values()) {
      const end = slot.start + this.#slotWidth
      const enters = end + config.recentWindowMs
      const leaves = end + config.baselineWindowMs
      const boundary = enters > now ? enters : leaves
      if (boundary > now && boundary < until) until = boundary
      if (end <= now - config.recentWindowMs && end > now - config.baselineWindowMs) {
        requests += slot.count
        errors += slot.errors
        latency.merge(slot.latency)
      }
    }
    const value: BaselineStats = {
      requests,
      errorRate: requests === 0 ? 0 : errors / requests,
      latencySamples: latency.count,
      latencyP50: latency.quantile(0.5),
      latencyP95: latency.quantile(0.95)
    }
    this.#baselineCache = { from: now, until, ...windowSizes(config), value }
    return value
  }

  #resize(capacity: number): void {
    if (this.#ring.length === capacity || (this.#next === 0 && this.#ring.length < capacity)) return
    const ordered = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)]
    this.#ring = ordered.slice(-capacity)
    this.#next = 0
    this.#rebuildSorted()
  }

  #prune(now: number, config: WindowConfig): void {
    for (const start of this.#slots.keys()) {
      if (start + this.#slotWidth <= now - config.baselineWindowMs - this.#slotWidth) {
        this.#slots.delete(start)
        this.#baselineCache = undefined
      }
    }
  }
}
