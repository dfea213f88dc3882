/**
 * The evaluator's low scores per model and task type. Task types come from
 * requests, so a track whose window has passed (no low score and no switch
 * recommendation within `switchWindowMs`) is dropped: it says no more than no
 * track. Not an Effect service: the ResponseEvaluator owns one and touches it
 * only in synchronous steps.
 */

/** One model and task type's low scores. */
export interface Track {
  /** Times of low scores within the window, oldest first (none kept while a recommendation holds: see `noteLow`). */
  lows: Array<number>
  /** Time of the low score that started the current recommendation (undefined when none). */
  recommendedAt: number | undefined
  /** The agent types of the low scores within the window, each at the time of its latest (made at the first one). */
  agentTypes?: Map<string, number>
}

/** The key of a model and task type. */
export const trackKey = (model: string, taskType: string | undefined): string => `${model}\u0000${taskType ?? ""}`

/** Drop from `track` what has left the window ending at `now`: its low scores, its agent types, its recommendation. */
export const windowed = (track: Track, now: number, windowMs: number): void => {
  const cutoff = now - windowMs
  if (track.lows.length > 0) track.lows = track.lows.filter((at) => at > cutoff)
  if (track.agentTypes !== undefined) {
    for (const [agentType, at] of track.agentTypes) if (at <= cutoff) track.agentTypes.delete(agentType)
  }
  if (track.recommendedAt !== undefined && now - track.recommendedAt >= windowMs) track.recommendedAt = undefined
}

/**
 * Note a low score at `now` (of `agentType`, when the request named one) on
 * `track`, already `windowed`. Answers whether it starts a switch
 * recommendation: the window now holds `switchAfter` low scores and none was
 * recommended. A low score while one holds only renews it: its time and
 * agent type are not kept (the recommendation ends at a good score, or when
 * no low score came for a window, and then every low score before it has
 * left the window too), so the track stays as small as `switchAfter` however
 * many bad answers the model gives meanwhile, and so does each request's
 * work on it.
 */
export const noteLow = (track: Track, now: number, agentType: string | undefined, switchAfter: number): boolean => {
  if (track.recommendedAt !== undefined) {
    track.recommendedAt = now
    return false
  }
  track.lows.push(now)
  if (agentType !== undefined) (track.agentTypes ??= new Map()).set(agentType, now)
  if (track.lows.length < switchAfter) return false
  track.recommendedAt = now
  return true
}

/** Whether `track` still says something at `now`: a low score or a recommendation within `windowMs`. */
const live = (track: Track, now: number, windowMs: number): boolean => {
  const last = track.lows[track.lows.length - 1]
  return (last !== undefined && last > now - windowMs) || (track.recommendedAt !== undefined && now - track.recommendedAt < windowMs)
}

/**
 * Tracks by key. When they outnumber twice what was left by the last sweep
 * (and at least `sweepAbove`), those whose window has passed are all dropped
 * at once: amortised O(1) per track kept, and never more than about twice
 * the tracks live within one window.
 */
export class Tracks {
  readonly #tracks = new Map<string, Track>()
  #sweepAt: number

  constructor(private readonly sweepAbove: number = 1_024) {
    this.#sweepAt = sweepAbove
  }

  /** How many tracks are held. */
  get size(): number {
    return this.#tracks.size
  }

  /** The track of `key`, if any. */
  get(key: string): Track | undefined {
    return this.#tracks.get(key)
  }

  /** Forget the track of `key`. */
  delete(key: string): void {
    this.#tracks.delete(key)
  }

  /** Forget the tracks of every model not in `models` (the registry removed them). */
  retainModels(models: ReadonlySet<string>): void {
    for (const key of this.#tracks.keys()) if (!models.has(key.slice(0, key.indexOf("\u0000")))) this.#tracks.delete(key)
  }

  /** Keep `track` under `key` at `now`; drops the passed tracks first when there are many. */
  set(key: string, track: Track, now: number, windowMs: number): void {
    this.#tracks.set(key, track)
    if (this.#tracks.size <= this.#sweepAt) return
    for (const [k, t] of this.#tracks) if (!live(t, now, windowMs)) this.#tracks.delete(k)
    this.#sweepAt = Math.max(this.sweepAbove, 2 * this.#tracks.size)
  }
}
