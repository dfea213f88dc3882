/**
 * Excessive-failover detection: failovers away from each model over a sliding
 * window, in bounded memory (at most `threshold + 1` timestamps per model).
 * A model the registry removes (when there is one) is forgotten: a failover
 * away from it that was in flight adds nothing, and the same id added again
 * starts with no count.
 */
import { Effect, type Option, Ref } from "effect"
import { followRemovals } from "../internal/followRemovals.js"
import type { ModelRegistry } from "../ModelRegistry.js"

interface ModelState {
  readonly times: ReadonlyArray<number>
  readonly alertedAt: number | undefined
}

/** Whether to alert, and the count in the window when so. */
export interface Verdict {
  readonly alert: boolean
  readonly count: number
}

const noAlert: Verdict = { alert: false, count: 0 }

/**
 * A tracker: `record(model, at)` notes a failover away from `model` and says
 * whether more than `threshold` happened within `windowMs` and no alert for
 * that model was raised within the last `windowMs` (once per window). It
 * follows `registry`'s removals in the current scope.
 */
export const makeTracker = (registry: Option.Option<ModelRegistry["Type"]>) =>
  Effect.gen(function*() {
    const state = yield* Ref.make(new Map<string, ModelState>())
    const removals = yield* followRemovals(registry, (present) =>
      Ref.update(state, (map) => new Map([...map].filter(([model]) => present.has(model)))))
    const record = (model: string, at: number, threshold: number, windowMs: number): Effect.Effect<Verdict> =>
      Ref.modify(state, (map) => {
        const known = map.get(model)
        if (known === undefined && removals.gone(model)) return [noAlert, map]
        const previous = known ?? { times: [], alertedAt: undefined }
        const times = [...previous.times.filter((t) => at - t < windowMs), at].slice(-(threshold + 1))
        const alert = times.length > threshold &&
          (previous.alertedAt === undefined || at - previous.alertedAt >= windowMs)
        const next = new Map(map)
        next.set(model, { times, alertedAt: alert ? at : previous.alertedAt })
        return [{ alert, count: times.length }, next]
      })
    return { record }
  })
