/**
 * The OpenAI chat-completions shape: what clients send and receive, whatever
 * provider serves them. Field names follow the wire format (snake_case).
 */
import { Schema } from "effect"

/**
 * A prompt-cache breakpoint (Anthropic's `cache_control`, in the OpenAI shape
 * as LiteLLM and OpenRouter take it): the prompt up to and including the part
 * or tool that carries it may be cached (`ttl` 5 minutes by default, or 1
 * hour). Only Anthropic is sent it; the other providers cache prompts on
 * their own.
 */
export const CacheControl = Schema.Struct({ type: Schema.Literal("ephemeral"), ttl: Schema.optional(Schema.Literal("5m", "1h")) })
export type CacheControl = typeof CacheControl.Type

/**
 * The longest prompt-cache lifetime a request asks for with `cache_control`
 * (on a text part or a tool), or undefined when it asks for none: the cache
 * writes it may be billed for.
 */
export const cacheWritesAsked = (request: ChatRequest): "5m" | "1h" | undefined => {
  let asked: "5m" | "1h" | undefined
  const see = (cache: CacheControl | undefined) => {
    if (cache !== undefined) asked = cache.ttl === "1h" || asked === "1h" ? "1h" : "5m"
  }
  for (const tool of request.tools ?? []) see(tool.cache_control)
  for (const message of request.messages) {
    if (typeof message.content === "string" || message.content == null) continue
    for (const part of message.content) if (part.type === "text") see(part.cache_control)
  }
  return asked
}

/** A text content part. */
export const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String, cache_control: Schema.optional(CacheControl) })
export type TextPart = typeof TextPart.Type

/** An image content part (https or `data:` URL). */
export const ImagePart = Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Struct({
    url: Schema.String,
    detail: Schema.optional(Schema.Literal("auto", "low", "high"))
  })
})
export type ImagePart = typeof ImagePart.Type

/** An audio input part. */
export const AudioPart = Schema.Struct({
  type: Schema.Literal("input_audio"),
  input_audio: Schema.Struct({ data: Schema.String, format: Schema.String })
})

/** A file input part. */
export const FilePart = Schema.Struct({
  type: Schema.Literal("file"),
  file: Schema.Struct({
    file_data: Schema.optional(Schema.String),
    file_id: Schema.optional(Schema.String),
    filename: Schema.optional(Schema.String)
  })
})

/** Any user content part. */
export const ContentPart = Schema.Union(TextPart, ImagePart, AudioPart, FilePart)
export type ContentPart = typeof ContentPart.Type

/** A tool call the assistant made; `arguments` is a JSON-encoded string. */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})
export type ToolCall = typeof ToolCall.Type

/** A `system` or `developer` message. */
export const SystemMessage = Schema.Struct({
  role: Schema.Literal("system", "developer"),
  content: Schema.Union(Schema.String, Schema.Array(TextPart)),
  name: Schema.optional(Schema.String)
})

/** A `user` message: text or parts. */
export const UserMessage = Schema.Struct({
  role: Schema.Literal("user"),
  content: Schema.Union(Schema.String, Schema.Array(ContentPart)),
  name: Schema.optional(Schema.String)
})

/** An `assistant` message; content may be null when it carries tool calls. */
export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Array(TextPart)))),
  tool_calls: Schema.optional(Schema.Array(ToolCall)),
  refusal: Schema.optional(Schema.NullOr(Schema.String)),
  name: Schema.optional(Schema.String)
})

/** A `tool` message answering the tool call `tool_call_id`. */
export const ToolMessage = Schema.Struct({
  role: Schema.Literal("tool"),
  content: Schema.Union(Schema.String, Schema.Array(TextPart)),
  tool_call_id: Schema.String
})

/** One message of a conversation. */
export const ChatMessage = Schema.Union(SystemMessage, UserMessage, AssistantMessage, ToolMessage)
export type ChatMessage = typeof ChatMessage.Type

/** A function tool the model may call. */
export const Tool = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
    strict: Schema.optional(Schema.NullOr(Schema.Boolean))
  }),
  cache_control: Schema.optional(CacheControl)
})
export type Tool = typeof Tool.Type

/** `tool_choice`: none, auto, required, or one named function. */
export const ToolChoice = Schema.Union(
  Schema.Literal("none", "auto", "required"),
  Schema.Struct({ type: Schema.Literal("function"), function: Schema.Struct({ name: Schema.String }) })
)
export type ToolChoice = typeof ToolChoice.Type

/** `response_format`: text, JSON mode, or a JSON schema. */
export const ResponseFormat = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text") }),
  Schema.Struct({ type: Schema.Literal("json_object") }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    json_schema: Schema.Struct({
      name: Schema.String,
      description: Schema.optional(Schema.String),
      schema: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
      strict: Schema.optional(Schema.NullOr(Schema.Boolean))
    })
  })
)
export type ResponseFormat = typeof ResponseFormat.Type

const Temperature = Schema.Number.pipe(Schema.between(0, 2))

/**
 * `logprobs`: answers carry no log probabilities (no adapter returns them),
 * so asking for them is refused rather than silently answered without.
 */
const NoLogprobs = Schema.Literal(false).annotations({
  message: () => "modelgate does not return log probabilities: leave logprobs out or set it to false"
})

/** A chat-completions request, as an OpenAI client sends it. */
export const ChatRequest = Schema.Struct({
  model: Schema.NonEmptyTrimmedString,
  messages: Schema.NonEmptyArray(ChatMessage),
  tools: Schema.optional(Schema.Array(Tool)),
  tool_choice: Schema.optional(ToolChoice),
  parallel_tool_calls: Schema.optional(Schema.Boolean),
  temperature: Schema.optional(Schema.NullOr(Temperature)),
  top_p: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.between(0, 1)))),
  max_tokens: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.positive()))),
  max_completion_tokens: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.positive()))),
  stop: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Array(Schema.String)))),
  response_format: Schema.optional(ResponseFormat),
  stream: Schema.optional(Schema.NullOr(Schema.Boolean)),
  stream_options: Schema.optional(Schema.NullOr(Schema.Struct({ include_usage: Schema.optional(Schema.Boolean) }))),
  user: Schema.optional(Schema.String),
  seed: Schema.optional(Schema.NullOr(Schema.Int)),
  n: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.positive()))),
  frequency_penalty: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.between(-2, 2)))),
  presence_penalty: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.between(-2, 2)))),
  logprobs: Schema.optional(Schema.NullOr(NoLogprobs)),
  top_logprobs: Schema.optional(Schema.NullOr(Schema.Int)),
  logit_bias: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Number }))),
  reasoning_effort: Schema.optional(Schema.NullOr(Schema.String)),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})
export type ChatRequest = typeof ChatRequest.Type

/**
 * The top-level fields of `request` beyond the ones modelgate models (newer
 * OpenAI parameters such as `service_tier` or `prediction`): carried as they
 * are, sent to OpenAI as they are, and a reason for every other provider not
 * to serve the request (it would drop them). Empty for almost every request.
 */
export const extraParameters = (request: ChatRequest): ReadonlyArray<string> => {
  let extras: Array<string> | undefined
  for (const key of Object.keys(request)) {
    if (!Object.hasOwn(ChatRequest.fields, key)) (extras ??= []).push(key)
  }
  return extras ?? noExtras
}
const noExtras: ReadonlyArray<string> = []

/**
 * The OpenAI parameters that only label or store a call, changing nothing of
 * its answer (agent SDKs send them on every call): other providers serve the
 * request without them, and the response cache keys no answer on them.
 */
export const bookkeepingParameters: ReadonlySet<string> = new Set(["store", "safety_identifier", "prompt_cache_key", "prompt_cache_retention"])

/**
 * Token usage; `cached_tokens` (prompt-cache reads), `cache_creation_tokens`
 * (writes; `cache_creation_1h_tokens` of them with the 1-hour lifetime) and
 * `audio_tokens` (audio input, billed at its own price by Gemini and by
 * OpenAI's audio models) are parts of `prompt_tokens`;
 * `cached_audio_tokens` is the audio among `cached_tokens` (Gemini's
 * `cacheTokensDetails`, billed at its own cache price). `reasoning_tokens`
 * and OpenAI's `rejected_prediction_tokens` (a `prediction`'s tokens not
 * used, billed as output) are parts of `completion_tokens`;
 * `accepted_prediction_tokens` are the prediction's tokens the answer used.
 * `estimated` marks counts the provider did not give.
 */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.NonNegativeInt,
  completion_tokens: Schema.NonNegativeInt,
  total_tokens: Schema.NonNegativeInt,
  prompt_tokens_details: Schema.optional(
    Schema.Struct({
      cached_tokens: Schema.optional(Schema.NonNegativeInt),
      cache_creation_tokens: Schema.optional(Schema.NonNegativeInt),
      cache_creation_1h_tokens: Schema.optional(Schema.NonNegativeInt),
      audio_tokens: Schema.optional(Schema.NonNegativeInt),
      cached_audio_tokens: Schema.optional(Schema.NonNegativeInt)
    })
  ),
  completion_tokens_details: Schema.optional(
    Schema.Struct({
      reasoning_tokens: Schema.optional(Schema.NonNegativeInt),
      accepted_prediction_tokens: Schema.optional(Schema.NonNegativeInt),
      rejected_prediction_tokens: Schema.optional(Schema.NonNegativeInt)
    })
  ),
  estimated: Schema.optional(Schema.Boolean)
})
export type Usage = typeof Usage.Type

/** Why generation stopped. */
export const FinishReason = Schema.Literal("stop", "length", "tool_calls", "content_filter", "function_call")
export type FinishReason = typeof FinishReason.Type

/**
 * A note on an answer's text, carried as the provider gave it: OpenAI's
 * `url_citation` of a web search (`url_citation: { start_index, end_index,
 * url, title }`).
 */
export const Annotation = Schema.Struct({ type: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.Unknown }))
export type Annotation = typeof Annotation.Type

/** The assistant's answer. */
export const ResponseMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.NullOr(Schema.String),
  tool_calls: Schema.optional(Schema.Array(ToolCall)),
  refusal: Schema.optional(Schema.NullOr(Schema.String)),
  annotations: Schema.optional(Schema.Array(Annotation))
})
export type ResponseMessage = typeof ResponseMessage.Type

/** One choice of a response. */
export const Choice = Schema.Struct({
  index: Schema.NonNegativeInt,
  message: ResponseMessage,
  finish_reason: FinishReason,
  logprobs: Schema.optional(Schema.Null)
})
export type Choice = typeof Choice.Type

/** A chat-completions response (`object: "chat.completion"`). */
export const ChatResponse = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("chat.completion"),
  created: Schema.NonNegativeInt,
  model: Schema.String,
  choices: Schema.NonEmptyArray(Choice),
  usage: Usage,
  system_fingerprint: Schema.optional(Schema.NullOr(Schema.String))
})
export type ChatResponse = typeof ChatResponse.Type

/** A streamed tool-call fragment, keyed by `index`. */
export const ToolCallDelta = Schema.Struct({
  index: Schema.NonNegativeInt,
  id: Schema.optional(Schema.String),
  type: Schema.optional(Schema.Literal("function")),
  function: Schema.optional(
    Schema.Struct({ name: Schema.optional(Schema.String), arguments: Schema.optional(Schema.String) })
  )
})
export type ToolCallDelta = typeof ToolCallDelta.Type

/** One choice delta of a stream chunk. */
export const ChunkChoice = Schema.Struct({
  index: Schema.NonNegativeInt,
  delta: Schema.Struct({
    role: Schema.optional(Schema.Literal("assistant")),
    content: Schema.optional(Schema.NullOr(Schema.String)),
    tool_calls: Schema.optional(Schema.Array(ToolCallDelta)),
    refusal: Schema.optional(Schema.NullOr(Schema.String)),
    annotations: Schema.optional(Schema.Array(Annotation))
  }),
  finish_reason: Schema.NullOr(FinishReason),
  logprobs: Schema.optional(Schema.Null)
})
export type ChunkChoice = typeof ChunkChoice.Type

/** A streamed chunk (`object: "chat.completion.chunk"`); the usage chunk has `choices: []`. */
export const ChatChunk = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("chat.completion.chunk"),
  created: Schema.NonNegativeInt,
  model: Schema.String,
  choices: Schema.Array(ChunkChoice),
  usage: Schema.optional(Schema.NullOr(Usage)),
  system_fingerprint: Schema.optional(Schema.NullOr(Schema.String))
})
export type ChatChunk = typeof ChatChunk.Type
