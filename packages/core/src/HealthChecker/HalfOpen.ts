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
 * out again, until the next probe) or `trialTimeoutMs` passes (a call that
 * never went or never reported: a host's review reordered the ranking, or
 * the call failed in a way that says nothing of health, e.g. a 400).
 *
 * A model never taken out, or taken out by probes alone, is not tracked
 * here and behaves as before. Synchronous and in memory: read inside the
 * selector's health read, claimed in its final step (a dry run claims
 * nothing), settled inside the checker's report of the call. The same
 * pattern as the performance trials (`PerformanceMonitor/Trials.ts`).
 */

/** How long a claimed trial holds without an outcome of its model (a call that never went). */
export const trialTimeoutMs = 60_000

/** The retry a ranking is told while another request's trial call is in flight. */
export const trialRetryMs = 1_000

/** Whether `model` may be called at `now`: true, or how long until it may be tried again. */
export type Gate = true | number

/** The models real calls took out and no real call has served since. */
export class HalfOpen {
  /** Model to the time its trial was claimed (`-Infinity`: none in flight). */
  readonly #claimedAt = new Map<string, number>()

  /** How many models are tracked (0 for a gateway whose models all work: one check per read). */
  get size(): number {
    return this.#claimedAt.size
  }

  /** Real call failures took `model` out: track it, no trial in flight (the next probe that passes opens it). */
  trip(model: string): void {
    this.#claimedAt.set(model, Number.NEGATIVE_INFINITY)
  }

  /** Whether `model` is tracked: its next health failure takes it out at once. */
  has(model: string): boolean {
    return this.#claimedAt.has(model)
  }

  /**
   * For a model its health reads available: true when it may be called (not
   * tracked, or no trial in flight), else the ms until the trial in flight
   * gives way (at most `trialRetryMs`).
   */
  pass(model: string, now: number): Gate {
    const at = this.#claimedAt.get(model)
    if (at === undefined || now < at || now - at >= trialTimeoutMs) return true
    return Math.min(trialRetryMs, at + trialTimeoutMs - now)
  }

  /** A request calls `model` first at `now`: when it is tracked, its trial is in flight. */
  claim(model: string, now: number): void {
    if (this.#claimedAt.size > 0 && this.#claimedAt.has(model)) this.#claimedAt.set(model, now)
  }

  /** A real call of `model` succeeded (or its entry was dropped): it is no longer tracked. */
  forget(model: string): void {
    if (this.#claimedAt.size > 0) this.#claimedAt.delete(model)
  }
}
