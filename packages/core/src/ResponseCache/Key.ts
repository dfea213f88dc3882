/**
 * The cache key: SHA-256 (node:crypto) of the canonical JSON of every request
 * parameter that changes the output.
 *
 * Canonical form: object keys sorted, `undefined` members left out, top-level
 * parameters that are `null` or absent treated alike (both mean "provider
 * default"), OpenAI's defaults written as absent (`n: 1`; `tool_choice`
 * "auto" with tools, "none" without), `stop: "x"` written as `["x"]`, and the model replaced by the
 * `model` string the gateway passes: for a named model what answers for it
 * and how it is asked (`answeringModel`), for `auto` its requirements and
 * what every registry model answers as (`registryDigest`).
 * Left out on purpose: `stream`, `stream_options`, `user`, `metadata`
 * (a streamed request is served from a cached complete answer), and the
 * OpenAI parameters that only label or store a call (`bookkeepingParameters`:
 * `store`, `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`).
 * The other top-level OpenAI parameters modelgate does not model
 * (`extraParameters`) are all in.
 */
import { bookkeepingParameters, type ChatRequest, extraParameters } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import * as crypto from "node:crypto"

/** Bump when the canonical form changes, so old entries stop matching. */
const version = 1

/** The request parameters that take part in the key. */
export const keyedParameters = [
  "messages",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "response_format",
  "seed",
  "n",
  "frequency_penalty",
  "presence_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "reasoning_effort"
] as const satisfies ReadonlyArray<keyof ChatRequest>

/** JSON with object keys sorted and `undefined` members dropped (as JSON.stringify drops them). */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") {
    return value === undefined ? "null" : JSON.stringify(value)
  }
  // String building in plain loops (no filter/map/join arrays): the key is computed for every cacheable request.
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      // A hole (never in parsed JSON) writes nothing, as `map` + `join` did.
      out += (i === 0 ? "" : ",") + (!(i in value) ? "" : item === undefined ? "null" : canonicalJson(item))
    }
    return out + "]"
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let out = "{"
  let first = true
  for (const key of keys) {
    const member = record[key]
    if (member === undefined) continue
    out += (first ? "" : ",") + JSON.stringify(key) + ":" + canonicalJson(member)
    first = false
  }
  return out + "}"
}

/** Whether `value` of parameter `name` is what the OpenAI API takes when it is absent (`n: 1`; `tool_choice` "auto" with tools, "none" without). */
const isOpenAiDefault = (request: ChatRequest, name: string, value: unknown): boolean =>
  name === "n"
    ? value === 1
    : name === "tool_choice" && value === (request.tools !== undefined && request.tools.length > 0 ? "auto" : "none")

/** The canonical object of `request` answered by `model`. */
export const canonicalRequest = (request: ChatRequest, model: string): Record<string, unknown> => {
  const canonical: Record<string, unknown> = { v: version, model }
  for (const name of keyedParameters) {
    const value = request[name]
    if (value === undefined || value === null || isOpenAiDefault(request, name, value)) continue
    canonical[name] = name === "stop" && typeof value === "string" ? [value] : value
  }
  // OpenAI parameters modelgate does not model may change the answer: keyed as they are (never a wrong hit).
  const extras = extraParameters(request)
  for (let i = 0; i < extras.length; i++) {
    const name = extras[i]!
    const value = (request as Readonly<Record<string, unknown>>)[name]
    if (value !== undefined && value !== null && !bookkeepingParameters.has(name)) canonical[`extra:${name}`] = value
  }
  return canonical
}

const answering = new WeakMap<ModelMetadata, string>()

/**
 * What answers for the registry id of `model`, and how it is asked: the id,
 * its provider and `providerModel`, and the registry fields the adapters
 * shape the provider's request with (`maxOutputTokens` and `contextWindow`:
 * Claude's default `max_tokens`; `reasoningEfforts`; `refusedParameters`).
 * Keyed with it, an answer is never replayed for the id once the registry
 * changes any of them (`PATCH /admin/models`, a reload, a restart with
 * another models.json). Computed once per registry entry.
 */
export const answeringModel = (model: ModelMetadata): string => {
  let name = answering.get(model)
  if (name === undefined) {
    name = `${model.id}=${
      canonicalJson([model.provider, model.providerModel, model.maxOutputTokens, model.contextWindow, model.reasoningEfforts, model.refusedParameters])
    }`
    answering.set(model, name)
  }
  return name
}

let digested: { readonly models: ReadonlyArray<ModelMetadata>; readonly digest: string } | undefined

/**
 * A digest of what every registry model answers as (`answeringModel`), for
 * the key of an `auto` request (its model is picked later): an `auto` answer
 * is not replayed once any model changes what answers for it or how it is
 * asked (or is added, or removed). Computed once per registry list (the
 * registry hands out the same list until it changes).
 */
export const registryDigest = (models: ReadonlyArray<ModelMetadata>): string => {
  if (digested?.models === models) return digested.digest
  const names: Array<string> = []
  for (const model of models) names.push(answeringModel(model))
  const digest = sha256Hex(names.sort().join("\n"))
  digested = { models, digest }
  return digest
}

/** The hex SHA-256 of the canonical request. */
export const cacheKey = (request: ChatRequest, model: string): string => sha256Hex(canonicalJson(canonicalRequest(request, model)))

/** Hex SHA-256 of a string's UTF-8: the one-shot `crypto.hash` where Node has it (20.12+), cheaper than a Hash object. */
const sha256Hex: (text: string) => string = typeof crypto.hash === "function"
  ? (text) => crypto.hash("sha256", text, "hex")
  : (text) => crypto.createHash("sha256").update(text, "utf8").digest("hex")
