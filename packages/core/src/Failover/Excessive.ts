/**
 * Excessive-failover detection: failovers away from each model over a sliding
 * window, in bounded memory (at most `threshold + 1` timestamps per model).
 */
import { Effect, Ref } from "effect"

interface ModelState {
  readonly times: ReadonlyArray<number>
  readonly alertedAt: number | undefined
}

/** Whether to alert, and the count in the window when so. */
export interface Verdict {
  readonly alert: boolean
  readonly count: number
}

/**
 * A tracker: `record(model, at)` notes a failover away from `model` and says
 * whether more than `threshold` happened within `windowMs` and no alert for
 * that model was raised within the last `windowMs` (once per window).
 */
export const makeTracker = Effect.gen(function*() {
  const state = yield* Ref.make(new Map<string, ModelState>())
  const record = (model: string, at: number, threshold: number, windowMs: number): Effect.Effect<Verdict> =>
    Ref.modify(state, (map) => {
      const previous = map.get(model) ?? { times: [], alertedAt: undefined }
      const times = [...previous.times.filter((t) => at - t < windowMs), at].slice(-(threshold + 1))
      const alert = times.length > threshold &&
        (previous.alertedAt === undefined || at - previous.alertedAt >= windowMs)
      const next = new Map(map)
      next.set(model, { times, alertedAt: alert ? at : previous.alertedAt })
      return [{ alert, count: times.length }, next]
    })
  return { record }
})
