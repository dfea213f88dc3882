/**
 * A model whose provider refuses every usable key is itself rate limited
 * until its first key frees. Checked only after the provider refused a key
 * (`RateLimiter.observe`): each usable key's window is peeked for a minimal
 * request; when every one is blocked by the provider, the model's own window
 * is blocked until the earliest of them. That is the path of a provider's
 * block on a keyless model, with its dedup: one `RateLimited` (naming no key)
 * when the model's window becomes limited, however many refusals follow, and
 * `WindowReset` on the first look at it with room again.
 *
 * Only the provider's blocks count: they hold until their time. A key whose
 * own window is full frees early when a call under way is released, and the
 * model's window, which counts every key's calls under the same limits, is
 * full as well and announces itself.
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Effect } from "effect"
import type * as SlidingWindow from "./SlidingWindow.js"
import { limitsOf } from "./Steps.js"

/** One op on the window of a model (`keyId` undefined) or of one of its keys; signals published, a store failure read as room. */
export type ApplyOn = (
  model: string,
  keyId: string | undefined,
  now: number,
  windowMs: number,
  op: SlidingWindow.Op
) => Effect.Effect<SlidingWindow.Outcome>

/**
 * After a key of `model` was refused at `now`: when the provider blocks each
 * of `keyIds` (the provider's usable keys), block the model's window until the
 * first of them frees. Nothing when any key has room or is only full.
 */
export const blockModelWhenEveryKeyRefused = (
  apply: ApplyOn,
  model: ModelMetadata,
  now: number,
  windowMs: number,
  keyIds: ReadonlyArray<string>
): Effect.Effect<void> =>
  keyIds.length === 0
    ? Effect.void
    : Effect.gen(function* () {
      const peek: SlidingWindow.Op = { _tag: "Peek", tokens: 1, limits: limitsOf(model) }
      let soonest = Infinity
      for (const keyId of keyIds) {
        const onKey = yield* apply(model.id, keyId, now, windowMs, peek)
        if (onKey.ok || onKey.dimension !== "provider") return
        soonest = Math.min(soonest, onKey.retryAfterMs)
      }
      yield* apply(model.id, undefined, now, windowMs, { _tag: "Block", until: now + soonest })
    })
