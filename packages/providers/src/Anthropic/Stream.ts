/**
 * Anthropic's named SSE events -> ChatChunks (OpenAI stream shape). Tool-use
 * blocks become OpenAI tool-call deltas keyed by a running index.
 */
import type { Sse } from "@effect/experimental"
import type { ChatChunk, ChunkChoice, FinishReason, Usage } from "@modelgate/domain/Chat"
import { MalformedResponse, type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Either, Schema } from "effect"
import { excerpt, inBandError, type StreamContext, stripSecrets } from "../internal/errors.js"
import { type ChunkTranslator, parseEventJson } from "../internal/sse.js"
import { classifyAnthropic, statusOfType } from "./Errors.js"
import { AnthropicUsage, finishReasonOf, usageOf } from "./Response.js"
import { plainStreamEvent } from "./shape.js"

const MessageStart = Schema.Struct({
  type: Schema.Literal("message_start"),
  message: Schema.Struct({ id: Schema.String, model: Schema.String, usage: Schema.optional(AnthropicUsage) })
})
const BlockStart = Schema.Struct({
  type: Schema.Literal("content_block_start"),
  index: Schema.NonNegativeInt,
  content_block: Schema.Struct({
    type: Schema.String,
    id: Schema.optional(Schema.String),
    name: Schema.optional(Schema.String),
    text: Schema.optional(Schema.String)
  })
})
const BlockDelta = Schema.Struct({
  type: Schema.Literal("content_block_delta"),
  index: Schema.NonNegativeInt,
  delta: Schema.Struct({
    type: Schema.String,
    text: Schema.optional(Schema.String),
    partial_json: Schema.optional(Schema.String)
  })
})
const MessageDelta = Schema.Struct({
  type: Schema.Literal("message_delta"),
  delta: Schema.Struct({ stop_reason: Schema.optional(Schema.NullOr(Schema.String)) }),
  usage: Schema.optional(AnthropicUsage)
})
const ErrorEvent = Schema.Struct({
  type: Schema.Literal("error"),
  error: Schema.Struct({ type: Schema.String, message: Schema.optional(Schema.String) })
})
const Simple = Schema.Struct({ type: Schema.Literal("content_block_stop", "message_stop", "ping") })

/** The events we act on; any other type is ignored as the API asks. */
export const AnthropicStreamEvent = Schema.Union(MessageStart, BlockStart, BlockDelta, MessageDelta, ErrorEvent, Simple)
export type AnthropicStreamEvent = typeof AnthropicStreamEvent.Type

const known = new Set(["message_start", "content_block_start", "content_block_delta", "message_delta", "error", "content_block_stop", "message_stop", "ping"])
const decodeEvent = Schema.decodeUnknownEither(AnthropicStreamEvent)

/** The `type` of an event's JSON object, when it has a string one. */
const typeOf = (json: unknown): string | undefined =>
  typeof json === "object" && json !== null && "type" in json && typeof json.type === "string" ? json.type : undefined

/**
 * The translation state of one stream. `push` takes one SSE event and returns
 * the chunks it yields (or the error that ends the stream); `end` says whether
 * the body ended cleanly (after `message_stop`) or must fail.
 */
export class AnthropicStreamTranslator implements ChunkTranslator {
  private id = ""
  private model = ""
  private usage: AnthropicUsage = {}
  private stopReason: string | undefined = undefined
  private readonly toolIndex = new Map<number, number>()
  /** OpenAI indexes of the tool calls that have had no argument text yet (an empty input streams none). */
  private readonly noArguments = new Set<number>()
  private stopped = false

  constructor(private readonly context: StreamContext, private readonly created: number) {}

  private common(detail: string) {
    return {
      provider: this.context.provider,
      model: this.context.info.model,
      status: this.context.meta.status,
      requestId: this.context.meta.requestId,
      rateLimit: this.context.meta.rateLimit,
      // It may quote the stream (a stop reason): the provider's text.
      detail: stripSecrets(detail, this.context.info.secrets)
    }
  }

  private chunk(choices: ReadonlyArray<ChunkChoice>, usage?: ChatChunk["usage"]): ChatChunk {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices,
      ...(usage !== undefined ? { usage } : {})
    }
  }

  private delta(delta: ChunkChoice["delta"], finish: FinishReason | null = null): ChatChunk {
    return this.chunk([{ index: 0, delta, logprobs: null, finish_reason: finish }])
  }

  /**
   * The arguments "{}" (as answered whole) of the tool calls that streamed no
   * argument text (an input of `{}`), once their block is over: before the
   * next block starts, so a client reports each call done with its whole
   * arguments when the next one starts (the `openai` client's stream helper
   * does, and parses them for a strict tool), or at `message_stop`.
   */
  private emptyArguments(): ReadonlyArray<ChatChunk> {
    if (this.noArguments.size === 0) return noChunks
    const chunks = [...this.noArguments].map((index) => this.delta({ tool_calls: [{ index, function: { arguments: "{}" } }] }))
    this.noArguments.clear()
    return chunks
  }

  /** Translate one SSE event. */
  push(event: Sse.Event): Either.Either<ReadonlyArray<ChatChunk>, ProviderError> {
    if (this.stopped) return Either.right([])
    // The data is parsed once (for the type of an unnamed event and for the decode).
    const json = parseEventJson(event.data)
    const named = event.event !== "" && event.event !== "message"
    const type = named ? event.event : typeOf(json)
    if (type !== undefined && !known.has(type)) return Either.right([])
    // The everyday events are read in plain JS (shape.ts), anything else by the Schema as before.
    let ev = plainStreamEvent(json)
    if (ev === undefined) {
      const decoded = json === undefined ? undefined : decodeEvent(json)
      if (decoded === undefined || Either.isLeft(decoded)) {
        const text = excerpt(event.data, this.context.info.secrets, 200)
        return Either.left(new MalformedResponse(this.common(`undecodable ${type ?? "stream"} event: ${text}`)))
      }
      ev = decoded.right
    }
    switch (ev.type) {
      case "message_start":
        this.id = ev.message.id
        this.model = ev.message.model
        this.usage = ev.message.usage ?? {}
        return Either.right([this.delta({ role: "assistant", content: "" })])
      case "content_block_start": {
        const block = ev.content_block
        // Blocks stream one after another: a new one means the calls before it are whole.
        const before = this.emptyArguments()
        if (block.type === "tool_use") {
          const index = this.toolIndex.size
          this.toolIndex.set(ev.index, index)
          this.noArguments.add(index)
          return Either.right([...before, this.delta({
            tool_calls: [{ index, id: block.id ?? `toolu_${ev.index}`, type: "function", function: { name: block.name ?? "", arguments: "" } }]
          })])
        }
        return Either.right(block.type === "text" && block.text ? [...before, this.delta({ content: block.text })] : before)
      }
      case "content_block_delta": {
        const d = ev.delta
        if (d.type === "text_delta" && d.text) return Either.right([this.delta({ content: d.text })])
        const index = this.toolIndex.get(ev.index)
        if (d.type === "input_json_delta" && d.partial_json && index !== undefined) {
          this.noArguments.delete(index)
          return Either.right([this.delta({ tool_calls: [{ index, function: { arguments: d.partial_json } }] })])
        }
        return Either.right([])
      }
      case "message_delta":
        if (ev.delta.stop_reason != null) this.stopReason = ev.delta.stop_reason
        if (ev.usage !== undefined) this.usage = { ...this.usage, ...definedOnly(ev.usage) }
        return Either.right([])
      case "message_stop": {
        const finish = this.stopReason === undefined ? undefined : finishReasonOf(this.stopReason)
        if (finish === undefined) {
          return Either.left(new MalformedResponse(this.common(`unknown stop_reason ${String(this.stopReason)}`)))
        }
        this.stopped = true
        return Either.right([...this.emptyArguments(), this.delta({}, finish), this.chunk([], usageOf(this.usage))])
      }
      case "error":
        return Either.left(inBandError(classifyAnthropic, this.context, event.data, statusOfType[ev.error.type] ?? 500))
      default:
        return Either.right([])
    }
  }

  /**
   * The usage reported so far: from `message_start` on, its input counts
   * (fresh, cache reads, cache writes) merged with the cumulative
   * `message_delta` counts; undefined before `message_start`.
   */
  usageSoFar(): Usage | undefined {
    return this.id === "" ? undefined : usageOf(this.usage)
  }

  /** Whether the stream reached `message_stop`: its answer is whole, the rest of the body is not read. */
  done(): boolean {
    return this.stopped
  }

  /** Nothing more when the stream reached `message_stop`; StreamInterrupted otherwise. */
  end(): Either.Either<ReadonlyArray<ChatChunk>, ProviderError> {
    return this.stopped
      ? Either.right([])
      : Either.left(new StreamInterrupted(this.common(this.id === "" ? "the stream ended before message_start" : "the stream ended before message_stop")))
  }
}

const noChunks: ReadonlyArray<ChatChunk> = []

const definedOnly = (usage: AnthropicUsage): AnthropicUsage =>
  Object.fromEntries(Object.entries(usage).filter(([, v]) => v != null)) as AnthropicUsage
