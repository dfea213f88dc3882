/**
 * Trial calls: how a model that has few recent calls gets measured again.
 *
 * The selector scores a model with fewer than `trialCalls` recent calls as
 * if it were as good as the best-measured candidate (the benefit of the
 * doubt), so a model that lost its traffic (an outage, a slow spell) and
 * whose recent calls have since expired is tried again instead of ranking
 * below its replacement for good. When a real ranking sends a request to
 * such a model first (its first candidate after a host's review: for a
 * request that names a model, the first of it and its fallbacks that is
 * eligible), the selector claims a trial for it; until that trial's call is
 * recorded, the model is scored on its own few calls (pulled toward a
 * neutral 0.5, as with no trial) so that one slow model is not sent every
 * request that arrives before its first answer. A request that is done with
 * the model without a record of it (its reservation refused before any
 * call, its client gone before the call, a failover to another model before
 * calling it) releases its claim then (`claim`'s answer; the gateway does),
 * so the next request may try the model at once; `trialTimeoutMs` bounds a
 * claim nobody releases (a caller of `ModelSelector.rank` that does not). A
 * model coming back is thus measured one call at a time until it has
 * `trialCalls` recent calls, then competes on its figures.
 *
 * Synchronous and in memory: read and claimed inside the selector's
 * ranking step, settled inside the monitor's record step, released in the
 * request's step that is done with the model (a Map delete).
 */

/** Recent calls below which a model is on trial (the confidence's half point in `performanceValue`). */
export const trialCalls = 5

/** How long a claimed trial holds without a record of its model or a release (a claim nobody releases). */
export const trialTimeoutMs = 60_000

/**
 * Gives a claimed trial back: frees it if it is still the claim it was made
 * by (a record of the model, or a later claim after the timeout, ended it
 * already: nothing). Synchronous; call it once the request is done with the model.
 */
export type Release = () => void

/** The trials in flight, by model. */
export interface TrialBook {
  /** Whether a trial of `model` is in flight at `now`. */
  readonly inFlight: (model: string, now: number) => boolean
  /** Claim a trial of `model` at `now` (a request goes to it first); its `Release`, for a request done with it without a record. */
  readonly claim: (model: string, now: number) => Release
}

/** One claim: its identity is what a release compares. */
interface Claim {
  readonly at: number
}

/** The monitor's trial book: `settle` when a call of the model is recorded, `forget` when it is removed. */
export class Trials implements TrialBook {
  readonly #claims = new Map<string, Claim>()

  inFlight = (model: string, now: number): boolean => {
    const claim = this.#claims.get(model)
    return claim !== undefined && now >= claim.at && now - claim.at < trialTimeoutMs
  }

  claim = (model: string, now: number): Release => {
    const claims = this.#claims
    const claim: Claim = { at: now }
    claims.set(model, claim)
    return () => {
      if (claims.get(model) === claim) claims.delete(model)
    }
  }

  /** A call of `model` was recorded: its trial (if any) is over. */
  settle(model: string): void {
    if (this.#claims.size > 0) this.#claims.delete(model)
  }

  /** Drop the trials of models not in `present`. */
  forget(present: ReadonlySet<string>): void {
    for (const model of this.#claims.keys()) if (!present.has(model)) this.#claims.delete(model)
  }
}
