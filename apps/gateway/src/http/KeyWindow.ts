/**
 * A virtual key's request limit over a sliding minute: the times of its last
 * `rpm` admitted requests in a ring. A request is admitted when the oldest of
 * them is a minute old or more, so no 60 s span ever holds more than `rpm`.
 * Plain JS and O(1) per request: it runs before the request's fiber.
 *
 * Not the rate limiter's bucketed log (`RateLimiter/SlidingWindow.ts`): that
 * one reserves and settles tokens and may refuse up to a bucket (1 s) early;
 * a key's limit counts requests only, exactly, in `rpm` numbers.
 */

/** The length of the window. */
export const windowMs = 60_000

/** The admitted requests of one key. */
export interface KeyWindow {
  readonly rpm: number
  /**
   * Admit a request at `now` (counted), or the ms until the oldest admitted
   * request leaves the window (not counted).
   */
  readonly admit: (now: number) => number | undefined
  /** What `admit` would answer at `now`, without counting anything. */
  readonly wait: (now: number) => number | undefined
  /** Requests admitted in the minute before `now`. */
  readonly used: (now: number) => number
  /** The times of the requests admitted in the minute before `now`, oldest first. */
  readonly admitted: (now: number) => ReadonlyArray<number>
}

/**
 * A window for `rpm` requests a minute, holding the newest `rpm` of `admitted`
 * (times, oldest first; none: an empty window). A key's limit changed by a
 * reload carries its count this way: a lower limit applies at once to what
 * was already used, a higher one adds only the difference.
 */
export const make = (rpm: number, admitted: ReadonlyArray<number> = []): KeyWindow => {
  const times = new Float64Array(rpm).fill(Number.NEGATIVE_INFINITY)
  const kept = admitted.slice(-rpm)
  times.set(kept)
  let oldest = kept.length % rpm
  const wait = (now: number) => {
    const ms = times[oldest]! + windowMs - now
    return ms > 0 ? ms : undefined
  }
  return {
    rpm,
    admit: (now) => {
      const ms = wait(now)
      if (ms !== undefined) return ms
      times[oldest] = now
      oldest = (oldest + 1) % rpm
      return undefined
    },
    wait,
    used: (now) => times.reduce((n, t) => (t > now - windowMs ? n + 1 : n), 0),
    admitted: (now) => {
      const inOrder = [...times.subarray(oldest), ...times.subarray(0, oldest)]
      return inOrder.filter((t) => t > now - windowMs)
    }
  }
}
