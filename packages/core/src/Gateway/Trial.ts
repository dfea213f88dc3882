/**
 * The trials a request's ranking claimed for the model it calls first
 * (`Ranking.trial`: a performance trial, a half-open model's health trial).
 * The request holds them (`Begun.trial`) while it may still call that model,
 * and gives them back as soon as it is done with it without a record or
 * health outcome of it: when it moves on to another candidate (the model's
 * reservation was refused, its call failed with a 400, a 401 on every key),
 * and when the request ends (a permanent error, every candidate failed, its
 * client gone before the call, at any step after the ranking claimed them:
 * the ranking hands them to the request as it claims them, under the
 * request's finalizer, `heldOver`). A call that will report an outcome later
 * takes them over (`handOff`): a stream being read, a complete call its
 * client left, which release them when they end. A release is a Map delete
 * that frees only this request's claim (an outcome, or another request's
 * later claim, is left alone).
 */
import { Effect } from "effect"
import type { TrialClaim } from "../ModelSelector.js"
import type { Begun } from "./RequestStart.js"

/** Give back what the request still holds, if anything. */
export const release = (begun: Begun): void => {
  const trial = begun.trial
  if (trial === undefined) return
  begun.trial = undefined
  trial.release()
}

/** The request is about to try `model`: a claim of another model is given back (the request is done with it). */
export const tryingNext = (begun: Begun, model: string): void => {
  const trial = begun.trial
  if (trial !== undefined && trial.model !== model) release(begun)
}

/** The claim of `model`, taken from the request by the call that will report its outcome (undefined: none). */
export const handOff = (begun: Begun, model: string): TrialClaim | undefined => {
  const trial = begun.trial
  if (trial === undefined || trial.model !== model) return undefined
  begun.trial = undefined
  return trial
}

/** `effect`, then the release of `trial` however it ends (`effect` itself when there is none). */
export const releasedAfter = <A, E, R>(effect: Effect.Effect<A, E, R>, trial: TrialClaim | undefined): Effect.Effect<A, E, R> =>
  trial === undefined ? effect : Effect.ensuring(effect, Effect.sync(trial.release))

/**
 * The request's run, from before its ranking: what it still holds when the
 * run ends is given back, however it ends (an interruption between the
 * ranking's claim and the call included: the ranking hands the claim to the
 * request as it makes it, `SelectionInput.onTrialClaimed`).
 */
export const heldOver = <A, E, R>(begun: Begun, run: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  // One match with plain releases instead of `Effect.ensuring` (its finalizer's own steps): on every request.
  Effect.uninterruptibleMask((restore) =>
    Effect.matchCauseEffect(restore(run), {
      onFailure: (cause) => {
        release(begun)
        return Effect.failCause(cause)
      },
      onSuccess: (value) => {
        release(begun)
        return Effect.succeed(value)
      }
    })
  )
