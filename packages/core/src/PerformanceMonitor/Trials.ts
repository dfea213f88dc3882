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
 * recorded (or `trialTimeoutMs` passes, for a call that never went: the
 * request took another model), the model is scored on its own few calls
 * (pulled toward a neutral 0.5, as with no trial) so that one slow model
 * is not sent every request that arrives before its first answer. A model
 * coming back is thus measured one call at a time until it has
 * `trialCalls` recent calls, then competes on its figures.
 *
 * Synchronous and in memory: read and claimed inside the selector's
 * ranking step, settled inside the monitor's record step.
 */

/** Recent calls below which a model is on trial (the confidence's half point in `performanceValue`). */
export const trialCalls = 5

/** How long a claimed trial holds without a record of its model (a call that never went). */
export const trialTimeoutMs = 60_000

/** The trials in flight, by model. */
export interface TrialBook {
  /** Whether a trial of `model` is in flight at `now`. */
  readonly inFlight: (model: string, now: number) => boolean
  /** Claim a trial of `model` at `now` (a request goes to it first). */
  readonly claim: (model: string, now: number) => void
}

/** The monitor's trial book: `settle` when a call of the model is recorded, `forget` when it is removed. */
export class Trials implements TrialBook {
  readonly #claimedAt = new Map<string, number>()

  inFlight = (model: string, now: number): boolean => {
    const at = this.#claimedAt.get(model)
    return at !== undefined && now >= at && now - at < trialTimeoutMs
  }

  claim = (model: string, now: number): void => {
    this.#claimedAt.set(model, now)
  }

  /** A call of `model` was recorded: its trial (if any) is over. */
  settle(model: string): void {
    if (this.#claimedAt.size > 0) this.#claimedAt.delete(model)
  }

  /** Drop the trials of models not in `present`. */
  forget(present: ReadonlySet<string>): void {
    for (const model of this.#claimedAt.keys()) if (!present.has(model)) this.#claimedAt.delete(model)
  }
}
