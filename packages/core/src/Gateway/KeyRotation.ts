/**
 * Which key of its provider an attempt's call runs on: the provider's usable
 * keys in turn (`ApiKeys.inTurn`), each tried once until the limiter admits
 * the call on one; and, after the provider refused the call's key with a
 * short retry hint, whether another key has room for it now (each key has
 * limits of its own: the call moves there rather than wait on its key); and,
 * after any 429 of its key (a hint too long to wait out, none, or the
 * adapter's retries spent), whether another key takes it before the request
 * fails over to another model. A call tries each key once.
 */
import type { MissingApiKey } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Effect } from "effect"
import type { ApiKeys } from "../ApiKeys.js"
import type { ProviderKey } from "../Provider.js"
import type { RateLimiter } from "../RateLimiter.js"

/** How many further keys of a provider one attempt tries when the limiter refuses a key. */
const maxKeyTries = 16

/** The usable keys of `provider` one call tries, in order (`ApiKeys.inTurn`; without it, the key `next` gives). */
export const keysInTurn = (keys: ApiKeys["Type"], provider: string): Effect.Effect<ReadonlyArray<ProviderKey>, MissingApiKey> =>
  keys.inTurn === undefined ? Effect.map(keys.next(provider), (key) => [key]) : keys.inTurn(provider)

/**
 * `hold` on the first of `keys` (non-empty) the limiter admits: a key
 * without room (`RateLimitExceeded`) passes to the next, each key once (at
 * most `maxKeyTries` more); fails with the last refusal when none has room.
 */
export const holdOnFirst = <A, E extends { readonly _tag: string }>(
  keys: ReadonlyArray<ProviderKey>,
  hold: (key: ProviderKey) => Effect.Effect<A, E>,
  at = 0
): Effect.Effect<A, E> =>
  Effect.catchIf(
    hold(keys[at]!),
    (e) => e._tag === "RateLimitExceeded" && at + 1 < keys.length && at < maxKeyTries,
    () => holdOnFirst(keys, hold, at + 1)
  )

/**
 * Whether a call of `tokens` on `model` fits now on one of `keyIds` other
 * than those in `refused` (the keys the provider refused the call on): read
 * only, nothing reserved nor announced (`RateLimiter.headroom`'s dry run).
 */
export const roomElsewhere = (
  limiter: RateLimiter["Type"],
  model: ModelMetadata,
  tokens: number,
  keyIds: ReadonlyArray<string>,
  refused: ReadonlyArray<string>
): Effect.Effect<boolean> =>
  Effect.exists(keyIds, (id) => refused.includes(id) ? Effect.succeed(false) : Effect.map(limiter.headroom(model, tokens, id, true), (room) => room.fits))

/** Whether `keyIds` (the provider's usable keys) holds one not in `refused`: a key the call may still move to. */
export const anotherKey = (keyIds: ReadonlyArray<string> | undefined, refused: ReadonlyArray<string>): boolean =>
  keyIds !== undefined && keyIds.some((id) => !refused.includes(id))
