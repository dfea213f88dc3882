/**
 * Half-open models: a model that real calls took out (their failures reached
 * the threshold) is not trusted again on a passing probe alone. A probe is
 * often a GET of the model list, which answers while completions fail; were
 * the model fully available again, every request arriving before the
 * failures take it out again would call it and fail over. Until a real call
 * of it succeeds, it is let through to ONE real call at a time (the trial):
 * the request whose final ranking calls it first claims the trial, and every
 * ranking meanwhile reads it unavailable, with a short retry, until that
 * call's outcome settles it (a success: fully available; a health failure:
 * out again, until the next probe), or the request releases the claim
 * (`claim`'s answer) once it is done with the model without an outcome of
 * it: a call that failed in a way that says nothing of health (a 400), a
 * reservation refused before any call, a client gone before the call, a
 * failover to another model before calling it; the gateway releases there,
 * and the next request may try the model at once. `trialTimeoutMs` bounds a
 * claim nobody releases (a caller of `ModelSelector.rank` that does not).
 *
 * A model never taken out, or taken out by probes alone, is not tracked
 * here and behaves as before. Synchronous and in memory: read inside the
 * selector's health read, claimed in its final step (a dry run claims
 * nothing), settled inside the checker's report of the call. The same
 * pattern as the performance trials (`PerformanceMonitor/Trials.ts`).
 */

/** How long a claimed trial holds without an outcome of its model or a release (a claim nobody releases). */
export const trialTimeoutMs = 60_000

/** The retry a ranking is told while another request's trial call is in flight. */
export const trialRetryMs = 1_000

/** Whether `model` may be called at `now`: true, or how long until it may be tried again. */
export type Gate = true | number

/** One claim of a trial: its identity is what a release compares. */
interface Claim {
  readonly at: number
}

/** A tracked model with no trial in flight. */
const idle: Claim = { at: Number.NEGATIVE_INFINITY }

/** The models real calls took out and no real call has served since. */
export class HalfOpen {
  /** Model to its trial's claim (`idle`: none in flight). */
  readonly #claims = new Map<string, Claim>()

  /** How many models are tracked (0 for a gateway whose models all work: one check per read). */
  get size(): number {
    return this.#claims.size
  }

  /** Real call failures took `model` out: track it, no trial in flight (the next probe that passes opens it). */
  trip(model: string): void {
    this.#claims.set(model, idle)
  }

  /** Whether `model` is tracked: its next health failure takes it out at once. */
  has(model: string): boolean {
    return this.#claims.has(model)
  }

  /**
   * For a model its health reads available: true when it may be called (not
   * tracked, or no trial in flight), else the ms until the trial in flight
   * gives way (at most `trialRetryMs`).
   */
  pass(model: string, now: number): Gate {
    const claim = this.#claims.get(model)
    if (claim === undefined || now < claim.at || now - claim.at >= trialTimeoutMs) return true
    return Math.min(trialRetryMs, claim.at + trialTimeoutMs - now)
  }

  /**
   * A request calls `model` first at `now`: when it is tracked, its trial is
   * in flight, and the answer releases it (no trial in flight, the model still
   * tracked) if it is still this claim: an outcome of the model, or a later
   * claim, ended it already. Undefined when `model` is not tracked.
   */
  claim(model: string, now: number): (() => void) | undefined {
    const claims = this.#claims
    if (claims.size === 0 || !claims.has(model)) return undefined
    const claim: Claim = { at: now }
    claims.set(model, claim)
    return () => {
      if (claims.get(model) === claim) claims.set(model, idle)
    }
  }

  /** A real call of `model` succeeded (or its entry was dropped): it is no longer tracked. */
  forget(model: string): void {
    if (this.#claims.size > 0) this.#claims.delete(model)
  }
}
