/**
 * OpenAI Chat Completions on the wire: the request body sent upstream and
 * lenient Schemas of what comes back, normalised into the domain shapes.
 */
import type { Unsupported } from "@modelgate/core/Provider"
import { Annotation, type ChatChunk, type ChatRequest, type ChatResponse, type ChunkChoice, type FinishReason, type Usage } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { effortValueKinds, type ReasoningEffortValue } from "@modelgate/domain/ModelParameters"
import { Schema } from "effect"
import { unservedEffort } from "../internal/reasoning.js"
import { stableToolId, withToolIds } from "../internal/toolIds.js"
import { ToolCallIndexes } from "./toolIndexes.js"

const Count = Schema.Int.pipe(Schema.nonNegative())
const OptString = Schema.optional(Schema.NullOr(Schema.String))

/** `usage` as OpenAI sends it (details may be null or absent). */
export const WireUsage = Schema.Struct({
  prompt_tokens: Count,
  completion_tokens: Count,
  total_tokens: Schema.optional(Count),
  prompt_tokens_details: Schema.optional(
    Schema.NullOr(Schema.Struct({ cached_tokens: Schema.optional(Schema.NullOr(Count)), audio_tokens: Schema.optional(Schema.NullOr(Count)) }))
  ),
  completion_tokens_details: Schema.optional(
    Schema.NullOr(Schema.Struct({
      reasoning_tokens: Schema.optional(Schema.NullOr(Count)),
      accepted_prediction_tokens: Schema.optional(Schema.NullOr(Count)),
      rejected_prediction_tokens: Schema.optional(Schema.NullOr(Count))
    }))
  )
})
export type WireUsage = typeof WireUsage.Type

const WireToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.optional(Schema.String),
  // Some OpenAI-compatible servers send the arguments as a JSON object, not its string.
  function: Schema.Struct({ name: Schema.String, arguments: Schema.Union(Schema.String, Schema.Record({ key: Schema.String, value: Schema.Unknown })) })
})

/** One choice of a `chat.completion`. */
export const WireChoice = Schema.Struct({
  index: Schema.optional(Count),
  message: Schema.Struct({
    role: Schema.optional(Schema.String),
    content: OptString,
    tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireToolCall))),
    refusal: OptString,
    annotations: Schema.optional(Schema.NullOr(Schema.Array(Annotation)))
  }),
  finish_reason: Schema.NullOr(Schema.String)
})

/** A `chat.completion` body (`id` and `created` absent from some OpenAI-compatible servers). */
export const WireResponse = Schema.Struct({
  id: Schema.optional(Schema.String),
  created: Schema.optional(Count),
  model: Schema.String,
  choices: Schema.Array(WireChoice),
  usage: Schema.optional(Schema.NullOr(WireUsage)),
  system_fingerprint: OptString
})
export type WireResponse = typeof WireResponse.Type

/** A streamed tool-call delta; `index` is left out by some OpenAI-compatible servers (toolIndexes.ts). */
const WireToolCallDelta = Schema.Struct({
  index: Schema.optional(Schema.NullOr(Count)),
  id: Schema.optional(Schema.NullOr(Schema.String)),
  type: Schema.optional(Schema.NullOr(Schema.String)),
  function: Schema.optional(Schema.NullOr(Schema.Struct({ name: OptString, arguments: OptString })))
})

/** The error object of an error body or a mid-stream error event. */
export const WireError = Schema.Struct({
  message: OptString,
  type: OptString,
  code: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number))),
  param: OptString
})
export type WireError = typeof WireError.Type

/** `{"error": {...}}`. */
export const WireErrorBody = Schema.Struct({ error: WireError })

/** vLLM's older error body: the error object itself, `{"object": "error", "message": ..., "type": ..., "code": 400}`. */
export const WireFlatErrorBody = Schema.Struct({ object: Schema.Literal("error"), ...WireError.fields })

/** A `chat.completion.chunk` (or a mid-stream `{"error": ...}` event). */
export const WireChunk = Schema.Struct({
  id: Schema.optional(Schema.String),
  created: Schema.optional(Count),
  model: Schema.optional(Schema.String),
  choices: Schema.optional(Schema.Array(Schema.Struct({
    index: Count,
    delta: Schema.optional(Schema.NullOr(Schema.Struct({
      role: OptString,
      content: OptString,
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireToolCallDelta))),
      refusal: OptString,
      annotations: Schema.optional(Schema.NullOr(Schema.Array(Annotation)))
    }))),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  }))),
  usage: Schema.optional(Schema.NullOr(WireUsage)),
  system_fingerprint: OptString,
  error: Schema.optional(WireError)
})
export type WireChunk = typeof WireChunk.Type

/** Annotations worth carrying: OpenAI sends `annotations: []` on every message. */
const nonEmpty = (annotations: ReadonlyArray<Annotation> | null | undefined): annotations is ReadonlyArray<Annotation> =>
  annotations !== undefined && annotations !== null && annotations.length > 0

/** The finish reasons OpenAI documents (anything else is a malformed answer). */
export const finishReasons: ReadonlySet<string> = new Set<FinishReason>(["stop", "length", "tool_calls", "content_filter", "function_call"])

/**
 * End-of-sequence finish reasons of OpenAI-compatible servers (TGI,
 * llama.cpp-based ones): OpenAI's "stop".
 */
const stopAliases: ReadonlySet<string> = new Set(["eos", "eos_token"])

/** A finish reason as OpenAI's (the aliases above mapped), undefined when unknown. */
export const finishReasonOf = (reason: string): FinishReason | undefined =>
  finishReasons.has(reason) ? reason as FinishReason : stopAliases.has(reason) ? "stop" : undefined

/** OpenAI's longest tool-call id: a longer one in the history is a 400. */
const maxToolIdLength = 40

/**
 * The history with every tool-call id over 40 characters replaced by a short
 * stable one (see internal/toolIds.ts); the same array when none is long.
 */
export const withShortToolIds = (messages: ChatRequest["messages"]): ChatRequest["messages"] =>
  withToolIds(messages, (id) => id.length <= maxToolIdLength, (id) => stableToolId("call_", id, maxToolIdLength))

const hasBreakpoint = (content: unknown): boolean =>
  Array.isArray(content) && content.some((part: { readonly cache_control?: unknown }) => part.cache_control !== undefined)

/** The history without Anthropic's cache breakpoints on its content parts; the same array when it has none. */
const withoutCacheBreakpoints = (messages: ChatRequest["messages"]): ChatRequest["messages"] => {
  if (!messages.some((m) => hasBreakpoint(m.content))) return messages
  const strip = (content: unknown) =>
    hasBreakpoint(content) ? (content as ReadonlyArray<Record<string, unknown>>).map(({ cache_control: _, ...part }) => part) : content
  return messages.map((m) => ({ ...m, content: strip(m.content) })) as unknown as ChatRequest["messages"]
}

/**
 * The upstream body: the request passed through, `model` replaced, stream
 * options forced; the keys in the request's order, as
 * `{ ...rest, model, stream: true, stream_options }` of the request without
 * `stream` and `stream_options` (written as a loop for speed: the rest
 * destructuring and spreads were ~1.5 us per request, this ~0.1 us).
 * For a `reasoning` model `max_tokens` goes as `max_completion_tokens`:
 * OpenAI's reasoning models reject `max_tokens` (PROVIDERS.md), and a 400
 * there would end an `auto` request that never named the model; with
 * `max_completion_tokens` beside it, `max_tokens` is left out (OpenAI
 * answers the pair with a 400 on any model).
 * `reasoning_effort` goes as `effort`: the model's own value for it (see
 * `effortValue`), by default the request's. Tool-call ids over OpenAI's 40
 * characters (another provider's, after a failover) go shortened, and
 * Anthropic's cache breakpoints (`cache_control`) are left out: OpenAI
 * caches prompts on its own. `tools` goes only when it lists one (OpenAI
 * refuses `tools: []`), and `tool_choice` and `parallel_tool_calls` only with
 * tools (OpenAI refuses them without).
 */
export const requestBody = (
  request: ChatRequest,
  providerModel: string,
  stream: boolean,
  reasoning = false,
  effort: ReasoningEffortValue | undefined = request.reasoning_effort ?? undefined
): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const fields = request as Readonly<Record<string, unknown>>
  for (const key of Object.keys(fields)) {
    if (key === "stream" || key === "stream_options") continue
    if (key === "reasoning_effort") {
      if (effort !== undefined) out[key] = effort
      continue
    }
    if (key === "messages") {
      out[key] = withoutCacheBreakpoints(withShortToolIds(request.messages))
      continue
    }
    // Meaningless without tools, and OpenAI answers them with a 400 there (an empty `tools` list too: "empty array").
    if ((key === "tools" || key === "tool_choice" || key === "parallel_tool_calls") && (request.tools === undefined || request.tools.length === 0)) continue
    if (key === "tools" && request.tools !== undefined && request.tools.some((tool) => tool.cache_control !== undefined)) {
      out[key] = request.tools.map(({ cache_control: _, ...tool }) => tool)
      continue
    }
    // OpenAI refuses both caps at once, on every model: `max_completion_tokens` is the one kept.
    if (key === "max_tokens" && fields["max_completion_tokens"] != null) continue
    if (reasoning && key === "max_tokens") {
      if (fields["max_completion_tokens"] == null && fields[key] != null) out["max_completion_tokens"] = fields[key]
      continue
    }
    // A null one would overwrite the cap `max_tokens` gave it above.
    if (reasoning && key === "max_completion_tokens" && fields[key] == null) continue
    out[key] = fields[key]
  }
  out["model"] = providerModel
  if (stream) {
    out["stream"] = true
    out["stream_options"] = { include_usage: true }
  }
  return out
}

/**
 * A `service_tier` other than the default ("auto", "default"): OpenAI bills
 * flex and priority at other prices than the registry's, so the recorded
 * cost, and the budgets it counts against, would be wrong.
 */
export const otherServiceTier = (provider: string, request: ChatRequest): Unsupported | undefined => {
  const tier = (request as Readonly<Record<string, unknown>>)["service_tier"]
  return tier === undefined || tier === null || tier === "auto" || tier === "default"
    ? undefined
    : { param: "service_tier", reason: `modelgate prices ${provider}'s default tier only (service_tier ${JSON.stringify(tier)} asked)` }
}

/**
 * Audio output (`audio`, or `modalities` with "audio"): modelgate's answers
 * carry text and tool calls only, so the audio would be dropped.
 */
export const audioOutput = (provider: string, request: ChatRequest): Unsupported | undefined => {
  const fields = request as Readonly<Record<string, unknown>>
  const modalities = fields["modalities"]
  const asked = fields["audio"] != null ? "audio" : Array.isArray(modalities) && modalities.includes("audio") ? "modalities" : undefined
  return asked === undefined ? undefined : { param: asked, reason: `modelgate's answers carry no audio (${provider} audio output asked)` }
}

/**
 * JSON mode (`json_object`) on a conversation that never says "JSON": OpenAI
 * refuses it with a 400 (the model could loop on whitespace otherwise), where
 * the other providers answer; `auto` sends such a request elsewhere.
 */
export const jsonNeverMentioned = (provider: string, request: ChatRequest): Unsupported | undefined => {
  if (request.response_format?.type !== "json_object") return undefined
  const mentions = request.messages.some((m) => {
    const content = m.content
    if (typeof content === "string") return /json/i.test(content)
    return Array.isArray(content) && content.some((part: { readonly type: string; readonly text?: string }) => part.type === "text" && /json/i.test(part.text ?? ""))
  })
  return mentions ? undefined : { param: "response_format", reason: `${provider} takes json_object only when a message says "JSON"` }
}

/**
 * Legacy function calling (`functions`, `function_call`): OpenAI answers it
 * with `message.function_call`, which modelgate's answers do not carry (they
 * carry `tool_calls`: send `tools`).
 */
export const legacyFunctions = (provider: string, request: ChatRequest): Unsupported | undefined => {
  const fields = request as Readonly<Record<string, unknown>>
  const asked = fields["functions"] != null ? "functions" : fields["function_call"] != null ? "function_call" : undefined
  return asked === undefined
    ? undefined
    : { param: asked, reason: `legacy function calling is not carried (${provider} would answer with function_call): send tools instead` }
}

/**
 * A `reasoning_effort` the model would not take: one its registry entry does
 * not map, or any on a model without a mapping that is not a `reasoning`
 * model (OpenAI answers those with a 400). A reasoning model without a
 * mapping gets the effort as asked.
 */
export const unservedOpenAiEffort = (provider: string, request: ChatRequest, model: ModelMetadata): Unsupported | undefined =>
  unservedEffort(provider, request, model, effortValueKinds.openai, (m) => m.capabilities.includes("reasoning"))

/** The completion's details of OpenAI usage: `reasoning_tokens` when given, a `prediction`'s accepted and rejected tokens when there are any. */
const completionDetails = (details: WireUsage["completion_tokens_details"]): Usage["completion_tokens_details"] => {
  if (details == null) return undefined
  const { accepted_prediction_tokens: accepted, reasoning_tokens: reasoning, rejected_prediction_tokens: rejected } = details
  const hasAccepted = accepted != null && accepted > 0
  const hasRejected = rejected != null && rejected > 0
  if (reasoning == null && !hasAccepted && !hasRejected) return undefined
  return {
    ...(reasoning != null ? { reasoning_tokens: reasoning } : {}),
    ...(hasAccepted ? { accepted_prediction_tokens: accepted } : {}),
    ...(hasRejected ? { rejected_prediction_tokens: rejected } : {})
  }
}

/**
 * Domain usage from OpenAI usage (`total_tokens` recomputed when absent);
 * `audio_tokens` of the prompt only when there are any (an audio model's
 * audio input, billed at its own price), and a `prediction`'s accepted and
 * rejected tokens likewise (the rejected ones are billed as output, within
 * `completion_tokens`).
 */
export const toUsage = (usage: WireUsage): Usage => {
  const cached = usage.prompt_tokens_details?.cached_tokens
  const audio = usage.prompt_tokens_details?.audio_tokens
  const completion = completionDetails(usage.completion_tokens_details)
  const hasCached = cached !== undefined && cached !== null
  const hasAudio = audio !== undefined && audio !== null && audio > 0
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    ...(hasCached || hasAudio
      ? { prompt_tokens_details: { ...(hasCached ? { cached_tokens: cached } : {}), ...(hasAudio ? { audio_tokens: audio } : {}) } }
      : {}),
    ...(completion !== undefined ? { completion_tokens_details: completion } : {})
  }
}

/** Why a wire response cannot be normalised, or the response. */
export type Normalised<A> = { readonly _tag: "Ok"; readonly value: A } | { readonly _tag: "Invalid"; readonly reason: string }

const ok = <A>(value: A): Normalised<A> => ({ _tag: "Ok", value })
const invalid = (reason: string): Normalised<never> => ({ _tag: "Invalid", reason })

/**
 * A `chat.completion` as a `ChatResponse`: empty choices, an unknown finish
 * reason, or missing usage (when `fallbackUsage` gives none) make it invalid.
 * A null finish reason (some OpenAI-compatible servers) is "tool_calls" when
 * the message calls tools, else "stop": the whole answer arrived. A missing
 * `id` is `fallbackId`, a missing `created` is `fallbackCreated` (the
 * caller's clock, in seconds).
 */
export const normaliseResponse = (
  wire: WireResponse,
  fallbackUsage: () => Usage,
  fallbackId = "chatcmpl-response",
  fallbackCreated = 0
): Normalised<ChatResponse> => {
  const [first, ...others] = wire.choices
  if (first === undefined) return invalid("the answer has no choices")
  const choices: Array<ChatResponse["choices"][number]> = []
  for (const [i, choice] of [first, ...others].entries()) {
    const calls = choice.message.tool_calls ?? []
    const reason = choice.finish_reason === null ? (calls.length > 0 ? "tool_calls" : "stop") : finishReasonOf(choice.finish_reason)
    if (reason === undefined) return invalid(`unknown finish_reason ${JSON.stringify(choice.finish_reason)}`)
    choices.push({
      index: choice.index ?? i,
      message: {
        role: "assistant",
        content: choice.message.content ?? null,
        ...(calls.length > 0
          ? {
            tool_calls: calls.map((c) => {
              const args = c.function.arguments
              return { id: c.id, type: "function" as const, function: { name: c.function.name, arguments: typeof args === "string" ? args : JSON.stringify(args) } }
            })
          }
          : {}),
        refusal: choice.message.refusal ?? null,
        ...(nonEmpty(choice.message.annotations) ? { annotations: choice.message.annotations } : {})
      },
      logprobs: null,
      finish_reason: reason
    })
  }
  return ok({
    id: wire.id ?? fallbackId,
    object: "chat.completion",
    created: wire.created ?? fallbackCreated,
    model: wire.model,
    choices: choices as unknown as ChatResponse["choices"],
    usage: wire.usage !== undefined && wire.usage !== null ? toUsage(wire.usage) : fallbackUsage(),
    ...(wire.system_fingerprint !== undefined ? { system_fingerprint: wire.system_fingerprint } : {})
  })
}

/** Identity of a stream, kept from its first chunk. */
export interface ChunkIdentity {
  readonly id: string
  readonly created: number
  readonly model: string
}

/**
 * A `chat.completion.chunk` as a `ChatChunk` (usage chunk included); a
 * tool-call delta without its `index` numbered, and a call's opening delta
 * without its `type` given it, by `indexes`, the stream's (by default the
 * chunk's own: each of its calls new, in order; see toolIndexes.ts).
 */
export const normaliseChunk = (wire: WireChunk, identity: ChunkIdentity, indexes: ToolCallIndexes = new ToolCallIndexes()): Normalised<ChatChunk> => {
  const choices: Array<ChunkChoice> = []
  for (const choice of wire.choices ?? []) {
    const wireReason = choice.finish_reason ?? null
    const reason = wireReason === null ? null : finishReasonOf(wireReason)
    if (reason === undefined) return invalid(`unknown finish_reason ${JSON.stringify(wireReason)}`)
    const delta = choice.delta ?? {}
    choices.push({
      index: choice.index,
      delta: {
        ...(delta.role === "assistant" ? { role: "assistant" as const } : {}),
        ...(delta.content !== undefined ? { content: delta.content } : {}),
        ...(delta.tool_calls !== undefined && delta.tool_calls !== null
          ? {
            tool_calls: delta.tool_calls.map((t) => {
              const { index, opens } = indexes.place(choice.index, t)
              return {
                index,
                ...(t.id !== undefined && t.id !== null ? { id: t.id } : {}),
                // A call's type as OpenAI gives it: on its opening delta (vLLM leaves it out on a named tool_choice).
                ...(t.type === "function" || (opens && t.type == null) ? { type: "function" as const } : {}),
                ...(t.function !== undefined && t.function !== null
                  ? {
                    function: {
                      ...(typeof t.function.name === "string" ? { name: t.function.name } : {}),
                      ...(typeof t.function.arguments === "string" ? { arguments: t.function.arguments } : {})
                    }
                  }
                  : {})
              }
            })
          }
          : {}),
        ...(delta.refusal !== undefined ? { refusal: delta.refusal } : {}),
        ...(nonEmpty(delta.annotations) ? { annotations: delta.annotations } : {})
      },
      logprobs: null,
      finish_reason: reason
    })
  }
  return ok({
    id: wire.id ?? identity.id,
    object: "chat.completion.chunk",
    created: wire.created ?? identity.created,
    model: wire.model ?? identity.model,
    choices,
    ...(wire.usage !== undefined && wire.usage !== null ? { usage: toUsage(wire.usage) } : {}),
    ...(wire.system_fingerprint !== undefined ? { system_fingerprint: wire.system_fingerprint } : {})
  })
}
