/**
 * Health of a provider's endpoint (its base URL: one provider section of the
 * configuration), shared by every model served there. A call or probe that
 * got no HTTP answer at all (`EndpointEvidence` "down": refused, reset before
 * the headers, DNS) says the same of every model at that endpoint; one that
 * got nothing within the gateway's timeout ("stalled") may be a slow model
 * as well as a dead server, so it counts only once two models or more of the
 * endpoint show it. `failureThreshold` such failures in a row at one endpoint,
 * with no answer from it in between (any success, or a failure the endpoint
 * answered: a 404, a 500, a 429 for one model), take out every model there;
 * the next success of any of them (a probe or a real call) brings back those
 * it took out. Failures the endpoint answered stay their model's own. A run
 * counts only failures close together: one that comes more than
 * `runWindowMs` (`Run.ts`: two probe intervals and a probe's timeout) after the run's
 * last failure starts a new run, so two refused calls in the morning and one
 * in the evening are not three in a row. A provider given another `baseUrl`
 * by a reload starts over: what its old address did says nothing of the new one.
 *
 * Synchronous and in memory, driven by the checker inside its transitions;
 * nothing to do on the request path while every endpoint answers (`idle`).
 */
import type { EndpointEvidence } from "@modelgate/domain/ProviderError"
import { continuesRun } from "./Run.js"

/** Failures in a row at one endpoint, with no answer from it since. */
interface Streak {
  count: number
  /** One of them got no HTTP answer at all (not only timeouts). */
  down: boolean
  /** The models they were of. */
  readonly models: Set<string>
  /** When its last failure was (epoch ms). */
  last: number
}

/** Endpoint-level health across the models of each provider. */
export class Endpoints {
  /** The provider (endpoint) of each enabled model. */
  #providerOf = new Map<string, string>()
  /** The enabled models of each provider. */
  #models = new Map<string, Array<string>>()
  /** Provider to its current run of failures without an answer. */
  readonly #streaks = new Map<string, Streak>()
  /** Models out because their endpoint is, to their provider. */
  readonly #out = new Map<string, string>()
  /** Each provider's base URL at the last `setModels`. */
  #baseUrls = new Map<string, string>()

  /** True while no endpoint has failed since it last answered: nothing to do per call. */
  get idle(): boolean {
    return this.#streaks.size === 0 && this.#out.size === 0
  }

  /**
   * The enabled models and each provider's base URL (at each registry or
   * configuration change); what was known of models gone, and of a provider
   * moved to another base URL (another endpoint), is dropped.
   */
  setModels(
    models: ReadonlyArray<{ readonly id: string; readonly provider: string }>,
    baseUrls: ReadonlyMap<string, string>
  ): void {
    for (const [provider, url] of this.#baseUrls) {
      if (baseUrls.get(provider) === url) continue
      this.#streaks.delete(provider)
      for (const [model, of] of this.#out) if (of === provider) this.#out.delete(model)
    }
    this.#baseUrls = new Map(baseUrls)
    this.#providerOf = new Map(models.map((m) => [m.id, m.provider]))
    this.#models = new Map()
    for (const m of models) {
      const same = this.#models.get(m.provider)
      if (same === undefined) this.#models.set(m.provider, [m.id])
      else same.push(m.id)
    }
    for (const [model, provider] of this.#out) if (this.#providerOf.get(model) !== provider) this.#out.delete(model)
    for (const provider of this.#streaks.keys()) if (!this.#models.has(provider)) this.#streaks.delete(provider)
  }

  /** The provider of `model`, when it is enabled. */
  providerOf(model: string): string | undefined {
    return this.#providerOf.get(model)
  }

  /**
   * A failed call or probe of `model` at `at` said `evidence` of its
   * endpoint: the endpoint's models when that makes it down (`threshold` in
   * a row, one of them "down" or from two models or more), else none. A
   * failure more than `windowMs` (`runWindowMs`) after the run's last starts
   * a new run.
   */
  failed(model: string, evidence: EndpointEvidence, threshold: number, at: number, windowMs: number): ReadonlyArray<string> {
    const provider = this.#providerOf.get(model)
    if (provider === undefined) return []
    let streak = this.#streaks.get(provider)
    if (streak === undefined || !continuesRun(streak.last, at, windowMs)) {
      streak = { count: 0, down: false, models: new Set(), last: at }
      this.#streaks.set(provider, streak)
    }
    streak.last = Math.max(streak.last, at)
    streak.count++
    streak.models.add(model)
    if (evidence === "down") streak.down = true
    const isDown = streak.count >= threshold && (streak.down || streak.models.size >= 2)
    return isDown ? (this.#models.get(provider) ?? []) : []
  }

  /** How many failures in a row at `model`'s endpoint, with no answer since (0: none). */
  streakOf(model: string): number {
    const provider = this.#providerOf.get(model)
    return provider === undefined ? 0 : (this.#streaks.get(provider)?.count ?? 0)
  }

  /** `model` is out because its endpoint is: the next success at the endpoint brings it back. */
  takenOut(model: string): void {
    const provider = this.#providerOf.get(model)
    if (provider !== undefined) this.#out.set(model, provider)
  }

  /**
   * The endpoint of `model` answered a call or probe of it with a failure
   * (`own`: one that counts against `model`, which is then out, if it is,
   * for its own reason): the run at the endpoint is over.
   */
  answeredFailure(model: string, own: boolean): void {
    if (own) this.#out.delete(model)
    const provider = this.#providerOf.get(model)
    if (provider !== undefined) this.#streaks.delete(provider)
  }

  /** A call or probe of `model` succeeded: its endpoint answers. The models out because of it, to bring back. */
  answered(model: string): ReadonlyArray<string> {
    const provider = this.#providerOf.get(model)
    if (provider === undefined) return []
    this.#streaks.delete(provider)
    const back: Array<string> = []
    for (const [out, of] of this.#out) {
      if (of !== provider) continue
      this.#out.delete(out)
      if (out !== model) back.push(out)
    }
    return back
  }
}
