/**
 * A model's `refusedParameters` applied to a request: the sampling hints it
 * refuses are left out of the request sent to it, and a request with any
 * other field it refuses is one it cannot serve.
 */
import type { ChatRequest } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { type RefusedParameter, SamplingHint } from "@modelgate/domain/ModelParameters"
import type { Unsupported } from "../Provider.js"

const isHint = (parameter: RefusedParameter): boolean => (SamplingHint.literals as ReadonlyArray<string>).includes(parameter)

/** Whether `request` sets `parameter` (`n: 1` asks for nothing beyond the default). */
const sets = (request: ChatRequest, parameter: RefusedParameter): boolean => {
  const value = request[parameter]
  return value !== undefined && value !== null && !(parameter === "n" && value === 1)
}

/** The first field of `request` that `model` refuses and that is not a sampling hint, as a refusal. */
export const refusedBy = (request: ChatRequest, model: ModelMetadata): Unsupported | undefined => {
  const refused = model.refusedParameters
  if (refused === undefined) return undefined
  for (const parameter of refused) {
    if (!isHint(parameter) && sets(request, parameter)) {
      return { param: parameter, reason: `${model.id} refuses ${parameter} (its registry entry lists it in refusedParameters)` }
    }
  }
  return undefined
}

/** `request` without the sampling hints `model` refuses (the same request when it sets none). */
export const withoutRefusedHints = (request: ChatRequest, model: ModelMetadata): ChatRequest => {
  const refused = model.refusedParameters
  if (refused === undefined) return request
  let out: Record<string, unknown> | undefined
  for (const parameter of refused) {
    if (isHint(parameter) && request[parameter] !== undefined) {
      out ??= { ...request }
      delete out[parameter]
    }
  }
  return (out as ChatRequest | undefined) ?? request
}
