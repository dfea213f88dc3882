/**
 * A log-bucket histogram for latencies: bounded memory (one counter per
 * bucket, buckets grow by `gamma`), mergeable, quantiles with a known error.
 *
 * Bucket `i` holds values in `(gamma^(i-1), gamma^i]`; a quantile is reported as
 * the bucket's geometric midpoint, clamped to the observed min and max, so its
 * relative error is at most `sqrt(gamma) - 1` (2.47% for gamma 1.05). With
 * gamma 1.05, latencies from 1 µs to 1 hour need at most ~450 buckets.
 */

/** Bucket growth factor. */
export const gamma = 1.05
const logGamma = Math.log(gamma)

/** The largest relative error of a reported quantile. */
export const relativeError = Math.sqrt(gamma) - 1

/** Nearest-rank quantile of sorted values (q in 0..1); undefined when empty. */
export const exactQuantile = (sorted: ReadonlyArray<number>, q: number): number | undefined => {
  if (sorted.length === 0) return undefined
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1]
}

/** A mergeable log-bucket histogram of non-negative values. */
export class LogHistogram {
  readonly #buckets = new Map<number, number>()
  #zeros = 0
  #count = 0
  #min = Number.POSITIVE_INFINITY
  #max = Number.NEGATIVE_INFINITY

  /** How many values were added. */
  get count(): number {
    return this.#count
  }

  /** Add one value (negative values count as 0). */
  add(value: number): void {
    const v = Math.max(0, value)
    this.#count++
    this.#min = Math.min(this.#min, v)
    this.#max = Math.max(this.#max, v)
    if (v === 0) {
      this.#zeros++
      return
    }
    const index = Math.ceil(Math.log(v) / logGamma)
    this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + 1)
  }

  /** Add every value of `other` into this one. */
  merge(other: LogHistogram): void {
    if (other.#count === 0) return
    this.#count += other.#count
    this.#zeros += other.#zeros
    this.#min = Math.min(this.#min, other.#min)
    this.#max = Math.max(this.#max, other.#max)
    for (const [index, n] of other.#buckets) this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + n)
  }

  /** The nearest-rank `q` quantile (q in 0..1), within `relativeError`; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.#count === 0) return undefined
    const rank = Math.min(this.#count, Math.max(1, Math.ceil(q * this.#count)))
    if (rank <= this.#zeros) return 0
    let seen = this.#zeros
    for (const index of [...this.#buckets.keys()].sort((a, b) => a - b)) {
      seen += this.#buckets.get(index) ?? 0
      if (seen >= rank) {
        const midpoint = Math.exp((index - 0.5) * logGamma)
        return Math.min(this.#max, Math.max(this.#min, midpoint))
      }
    }
    return this.#max
  }
}
