/**
 * The refusals a request gets before any provider call: a named model it may
 * not use or its provider cannot serve, and a ranking with no candidate. The
 * request path (`RequestStart.ts`, `Candidates.ts`) and the admin dry run
 * (`POST /admin/select`) both build them here, so the two answer alike.
 */
import { cacheWritesAsked, type ChatRequest } from "@modelgate/domain/Chat"
import { type BudgetExceeded, ModelNotAllowed, NoEligibleModel, UnsupportedParameter } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { allowsModel, type TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Option } from "effect"
import type { CostTracker } from "../CostTracker.js"
import { heldAudioTokens, holdUsage } from "../CostTracker/Price.js"
import type { ModelRegistry } from "../ModelRegistry.js"
import type { Ranking } from "../ModelSelector.js"
import { type Providers, unsupportedOn } from "../Provider.js"
import { mostOutputTokens } from "../TokenEstimator.js"

/**
 * Why a named model is refused before ranking: the request's key may not use
 * it, or its provider would drop what the request asks for (refused, not
 * failed over); undefined when neither. Plain: no Effect step.
 */
export const namedModelRefusal = (
  providers: Providers["Type"] | undefined,
  request: ChatRequest,
  requirements: TaskRequirements,
  explicit: ModelMetadata
): ModelNotAllowed | UnsupportedParameter | undefined => {
  if (!allowsModel(requirements, explicit.id)) return new ModelNotAllowed({ modelId: explicit.id, allowed: requirements.allowedModels ?? [] })
  const unsupported = providers === undefined ? undefined : unsupportedOn(providers, request, explicit)
  return unsupported === undefined ? undefined : new UnsupportedParameter({ modelId: explicit.id, ...unsupported })
}

/** A ranking's `NoEligibleModel` (built with validation off: typed values of our own ranking). */
export const noneEligible = (ranking: Ranking): NoEligibleModel =>
  new NoEligibleModel({ exclusions: ranking.excluded, retryAfterMs: ranking.retryAfterMs }, true)

/**
 * When only budgets (and the request's own asks) keep every candidate out,
 * fails with the typed `BudgetExceeded` of the first one (so the client gets
 * a 429 naming the budget, not a 503); else succeeds. `dryRun` (the admin
 * dry run): the budget is only read, nothing announced.
 */
export const budgetRefusal = (
  registry: ModelRegistry["Type"],
  costs: CostTracker["Type"],
  ranking: Ranking,
  requirements: TaskRequirements,
  promptTokens: number,
  request: ChatRequest,
  dryRun?: boolean
): Effect.Effect<void, BudgetExceeded> =>
  Effect.gen(function* () {
    const exclusions = ranking.excluded
    const first = exclusions.find((e) => e.kind === "budget")
    if (first === undefined || exclusions.some((e) => e.kind !== "budget" && e.kind !== "permanent" && e.kind !== "request")) return
    const model = yield* Effect.option(registry.get(first.model))
    if (Option.isNone(model)) return
    // The amount the ranking checked: the call's worst case, as the gateway holds it.
    const most = costs.cost(model.value, holdUsage(promptTokens, mostOutputTokens(request, model.value), cacheWritesAsked(request), heldAudioTokens(request, model.value)))
    yield* costs.checkBudget(model.value, requirements.agentType, most, dryRun)
  })
