/**
 * Which models had a key refused lately, and until when: a provider's block
 * on a key (its 429, `remaining: 0`) or a key window that refused a
 * reservation. The limiter reads a model's key windows, when the selector
 * asks whether any key of its provider has room, only while the model is
 * noted here: a ranking with no key refused reads no key window.
 *
 * In process: with a shared store, a key blocked by another instance is
 * noted here once this instance's reservation on it is refused (by the
 * shared key window, before any call). Until then this instance's ranking
 * reads the model's window alone: right while another key has room, and
 * once the provider blocks every key, the instance that saw the last one
 * blocked the model's shared window (`EveryKeyRefused.ts`), so every
 * instance ranks the model out (test/RateLimiterTwoInstances.test.ts).
 */

/** Notes of refused keys, per model. */
export interface RefusedKeys {
  /** A key of `model` refuses until `until` (a later note extends an earlier one). */
  readonly note: (model: string, until: number) => void
  /** Whether a key of `model` may still refuse at `now` (a note that has passed is dropped). */
  readonly any: (model: string, now: number) => boolean
  /** Drop the notes of the models `drop` selects that have passed at `now` (models the registry removed). */
  readonly sweep: (drop: (model: string) => boolean, now: number) => void
}

/** Empty notes. */
export const make = (): RefusedKeys => {
  const until = new Map<string, number>()
  return {
    note: (model, at) => {
      const known = until.get(model)
      if (known === undefined || known < at) until.set(model, at)
    },
    any: (model, now) => {
      if (until.size === 0) return false
      const at = until.get(model)
      if (at === undefined) return false
      if (at > now) return true
      until.delete(model)
      return false
    },
    sweep: (drop, now) => {
      for (const [model, at] of until) if (at <= now && drop(model)) until.delete(model)
    }
  }
}
