/**
 * A request's `reasoning_effort` on a model: the provider's own value for it,
 * from the model's registry entry (`reasoningEfforts`), and the check that
 * refuses an effort the model does not take rather than dropping it.
 */
import type { Unsupported } from "@modelgate/core/Provider"
import type { ChatRequest } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { EffortValueKind, ReasoningEffortValue } from "@modelgate/domain/ModelParameters"

/**
 * The provider's value for the request's `reasoning_effort` on `model`: the
 * registry's mapping, else the effort as asked (a model without a mapping,
 * which only OpenAI's reasoning models serve), or undefined when none is asked.
 */
export const effortValue = (request: ChatRequest, model: ModelMetadata): ReasoningEffortValue | undefined => {
  const effort = request.reasoning_effort
  if (effort === undefined || effort === null) return undefined
  const efforts = model.reasoningEfforts
  return efforts === undefined ? effort : Object.hasOwn(efforts, effort) ? efforts[effort] : undefined
}

/**
 * What a request's `reasoning_effort` would lose on `model`: an effort its
 * registry entry does not map, a mapped value `provider` does not take, or,
 * on a model without a mapping, the effort itself unless `passThrough` says
 * the provider takes it as asked.
 */
export const unservedEffort = (
  provider: string,
  request: ChatRequest,
  model: ModelMetadata,
  values: EffortValueKind,
  passThrough: (model: ModelMetadata) => boolean = () => false
): Unsupported | undefined => {
  const effort = request.reasoning_effort
  if (effort === undefined || effort === null) return undefined
  const efforts = model.reasoningEfforts
  if (efforts === undefined) {
    return passThrough(model) ? undefined : {
      param: "reasoning_effort",
      reason: `${model.id} on ${provider} takes no reasoning effort (its registry entry maps none in reasoningEfforts; ${JSON.stringify(effort)} asked)`
    }
  }
  const value = Object.hasOwn(efforts, effort) ? efforts[effort] : undefined
  if (value === undefined) {
    const known = Object.keys(efforts).map((e) => JSON.stringify(e)).join(", ")
    return { param: "reasoning_effort", reason: `${model.id} takes reasoning_effort ${known === "" ? "of no value" : known} (${JSON.stringify(effort)} asked)` }
  }
  return values.accepts(value) ? undefined : {
    param: "reasoning_effort",
    reason: `${model.id}'s reasoningEfforts maps ${JSON.stringify(effort)} to ${JSON.stringify(value)}, which is not ${values.what} (${provider})`
  }
}
