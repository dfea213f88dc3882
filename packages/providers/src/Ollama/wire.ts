/**
 * Ollama `/api/chat` on the wire: the request body built from a
 * `ChatRequest`, and lenient Schemas of the answers (one JSON object, or
 * NDJSON lines ending with `done: true`).
 */
import type { Unsupported } from "@modelgate/core/Provider"
import type { ChatMessage, ChatRequest, ToolCall } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { effortValueKinds, type ReasoningEffortValue } from "@modelgate/domain/ModelParameters"
import { Either, Schema } from "effect"
import { parseToolArguments, type Refusal, stopSequences } from "../internal/content.js"
import { inlineDataAt, isDataUrl } from "../internal/dataUrl.js"
import { unservedEffort } from "../internal/reasoning.js"

const Count = Schema.Int.pipe(Schema.nonNegative())

/** A tool call as Ollama sends it: `arguments` is a JSON object. */
export const WireToolCall = Schema.Struct({
  id: Schema.optional(Schema.String),
  function: Schema.Struct({
    index: Schema.optional(Count),
    name: Schema.String,
    arguments: Schema.optional(Schema.Unknown)
  })
})
export type WireToolCall = typeof WireToolCall.Type

/** One answer object (the whole answer, or one NDJSON line). */
export const WireChatLine = Schema.Struct({
  model: Schema.optional(Schema.String),
  created_at: Schema.optional(Schema.String),
  message: Schema.optional(Schema.Struct({
    role: Schema.optional(Schema.String),
    content: Schema.optional(Schema.String),
    thinking: Schema.optional(Schema.String),
    tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireToolCall)))
  })),
  done: Schema.optional(Schema.Boolean),
  done_reason: Schema.optional(Schema.String),
  prompt_eval_count: Schema.optional(Count),
  eval_count: Schema.optional(Count),
  error: Schema.optional(Schema.String)
})
export type WireChatLine = typeof WireChatLine.Type

/** `{"error": "..."}`. */
export const WireErrorBody = Schema.Struct({ error: Schema.String })

/** `GET /api/tags`. */
export const WireTags = Schema.Struct({
  models: Schema.Array(Schema.Struct({ name: Schema.String, model: Schema.optional(Schema.String) }))
})

const textOf = (content: ChatMessage["content"]): string =>
  typeof content === "string"
    ? content
    : content === undefined || content === null
    ? ""
    : content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n")

/** A user message's images in base64; `at` is its content's field (`messages[2].content`), to name one that cannot be sent. */
const imagesOf = (message: ChatMessage, at: string): Either.Either<Array<string>, Refusal> => {
  const images: Array<string> = []
  if (message.role !== "user" || !Array.isArray(message.content)) return Either.right(images)
  for (const [j, part] of message.content.entries()) {
    if (part.type !== "image_url") continue
    const param = `${at}[${j}].image_url.url`
    if (!isDataUrl(part.image_url.url)) return Either.left({ param, detail: "Ollama takes images only inline (data: URLs)" })
    const data = inlineDataAt(part.image_url.url, param)
    if (Either.isLeft(data)) return Either.left(data.left)
    images.push(data.right.data)
  }
  return Either.right(images)
}

const toolCallOut = (call: ToolCall) => ({
  ...(call.id.length > 0 ? { id: call.id } : {}),
  function: { name: call.function.name, arguments: parseToolArguments(call.function.arguments) ?? {} }
})

/**
 * Ollama's message list: roles kept (developer → system), text flattened,
 * images inlined, tool calls as objects; Left: an image that cannot be sent.
 */
export const toMessages = (request: ChatRequest): Either.Either<Array<Record<string, unknown>>, Refusal> => {
  const toolNames = new Map<string, string>()
  return Either.all(request.messages.map((message, i): Either.Either<Record<string, unknown>, Refusal> => {
    switch (message.role) {
      case "system":
      case "developer":
        return Either.right({ role: "system", content: textOf(message.content) })
      case "user":
        return Either.map(imagesOf(message, `messages[${i}].content`), (images) => ({
          role: "user",
          content: textOf(message.content),
          ...(images.length > 0 ? { images } : {})
        }))
      case "assistant": {
        const calls = message.tool_calls ?? []
        for (const call of calls) toolNames.set(call.id, call.function.name)
        return Either.right({
          role: "assistant",
          content: textOf(message.content),
          ...(calls.length > 0 ? { tool_calls: calls.map(toolCallOut) } : {})
        })
      }
      case "tool": {
        const name = toolNames.get(message.tool_call_id)
        return Either.right({
          role: "tool",
          content: textOf(message.content),
          tool_call_id: message.tool_call_id,
          ...(name !== undefined ? { tool_name: name } : {})
        })
      }
    }
  }))
}

/**
 * A reasoning effort the model would not take as `think`: one its registry
 * entry does not map, or any at all without a mapping (a model that cannot
 * think answers `think` with a 400).
 */
export const unservedOllamaEffort = (provider: string, request: ChatRequest, model: ModelMetadata): Unsupported | undefined =>
  unservedEffort(provider, request, model, effortValueKinds.ollama)

/**
 * The `/api/chat` body, or why the request cannot be sent (an image that
 * cannot be read). `effort` is the model's own value for the request's
 * reasoning effort (`effortValue`), sent as `think`. `contextWindow` (the
 * registry's) is sent as `options.num_ctx`: without it Ollama loads the model
 * with its own default (4096 tokens unless the server says otherwise), and a
 * prompt the registry says fits is refused (or, by default, cut). The same
 * value on every call, so the loaded model is not reloaded for another size.
 */
export const requestBody = (
  request: ChatRequest,
  providerModel: string,
  stream: boolean,
  effort: ReasoningEffortValue | undefined = undefined,
  contextWindow: number | undefined = undefined
): Either.Either<Record<string, unknown>, Refusal> => {
  const maxTokens = request.max_completion_tokens ?? request.max_tokens
  const stop = stopSequences(request)
  const options: Record<string, unknown> = {}
  if (contextWindow !== undefined) options.num_ctx = contextWindow
  if (request.temperature !== undefined && request.temperature !== null) options.temperature = request.temperature
  if (request.top_p !== undefined && request.top_p !== null) options.top_p = request.top_p
  if (maxTokens !== undefined && maxTokens !== null) options.num_predict = maxTokens
  if (stop !== undefined) options.stop = stop
  if (request.seed !== undefined && request.seed !== null) options.seed = request.seed
  if (request.presence_penalty !== undefined && request.presence_penalty !== null) options.presence_penalty = request.presence_penalty
  if (request.frequency_penalty !== undefined && request.frequency_penalty !== null) options.frequency_penalty = request.frequency_penalty
  const format = request.response_format?.type === "json_object"
    ? "json"
    : request.response_format?.type === "json_schema"
    ? request.response_format.json_schema.schema ?? "json"
    : undefined
  const tools = request.tools !== undefined && request.tools.length > 0 && request.tool_choice !== "none"
    ? request.tools
    : undefined
  return Either.map(toMessages(request), (messages) => ({
    model: providerModel,
    messages,
    stream,
    ...(tools !== undefined ? { tools } : {}),
    ...(format !== undefined ? { format } : {}),
    ...(typeof effort === "string" || typeof effort === "boolean" ? { think: effort } : {}),
    // An error, not a conversation silently cut from the front, when the prompt exceeds the loaded context size.
    truncate: false,
    ...(Object.keys(options).length > 0 ? { options } : {})
  }))
}

/**
 * A forced tool call (`tool_choice` "required" or a named function, with
 * tools): Ollama's chat API has no tool choice, so the model might answer
 * without the call.
 */
export const forcedToolChoice = (provider: string, request: ChatRequest): Unsupported | undefined => {
  const choice = request.tool_choice
  if (request.tools === undefined || request.tools.length === 0 || choice === undefined || choice === "none" || choice === "auto") return undefined
  const asked = choice === "required" ? "\"required\"" : `function ${choice.function.name}`
  return { param: "tool_choice", reason: `${provider} cannot force a tool call (tool_choice ${asked} asked)` }
}

/** Ollama's object arguments as OpenAI's JSON string. */
export const argumentsText = (args: unknown): string =>
  typeof args === "string" ? args : JSON.stringify(args ?? {})
