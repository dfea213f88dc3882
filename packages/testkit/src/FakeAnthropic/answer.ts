/**
 * The fake's answers in Anthropic's wire format: a Messages response, its
 * named SSE event sequence, and error bodies.
 */
import { asRecord, countTokens, limitReply, pieces, replyTo, toolArguments } from "../FakeServer/reply.js"
import { textOfContent, toolResultsOf } from "./validate.js"

/** A content block of a fake answer. */
export type FakeBlock =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "tool_use"; readonly id: string; readonly name: string; readonly input: Record<string, unknown> }

/** A Messages answer before it is written as JSON or as SSE events. */
export interface FakeMessage {
  readonly id: string
  readonly model: string
  readonly content: ReadonlyArray<FakeBlock>
  readonly stop_reason: "end_turn" | "stop_sequence" | "max_tokens" | "tool_use"
  readonly stop_sequence: string | null
  readonly usage: {
    readonly input_tokens: number
    readonly output_tokens: number
    readonly cache_creation_input_tokens: number
    readonly cache_read_input_tokens: number
    readonly cache_creation: { readonly ephemeral_5m_input_tokens: number; readonly ephemeral_1h_input_tokens: number }
  }
}

/** Prompt tokens read from and written to the cache, as the fake reports them (see promptCache.ts). */
export interface FakeCache {
  readonly read: number
  readonly creation: number
  /** Of `creation`, the tokens written for an hour (`ttl: "1h"`); the rest for 5 minutes. */
  readonly hour?: number
}

const chooseTool = (body: Record<string, unknown>): Record<string, unknown> | undefined => {
  const tools = Array.isArray(body["tools"]) ? body["tools"].map(asRecord).filter((t) => t !== undefined) : []
  const choice = asRecord(body["tool_choice"])
  if (tools.length === 0 || choice?.["type"] === "none") return undefined
  if (choice?.["type"] === "tool") return tools.find((t) => t["name"] === choice["name"]) ?? tools[0]
  return tools[0]
}

/**
 * The deterministic answer to a valid body: a tool call when tools are
 * offered and the last turn is not a tool result; otherwise `Echo: <last
 * user text>` (or a summary of the tool results), cut by stop sequences and
 * `max_tokens` (in word pieces).
 */
export const answerOf = (body: Record<string, unknown>, id: string, cache: FakeCache): FakeMessage => {
  const messages = (body["messages"] as ReadonlyArray<unknown>).map((m) => asRecord(m) ?? {})
  const last = messages[messages.length - 1] ?? {}
  const results = toolResultsOf(last["content"])
  const userText = textOfContent(last["content"])
  const inputTokens = countTokens(JSON.stringify(body["system"] ?? "") + JSON.stringify(messages))
  const usage = (output: number) => ({
    input_tokens: Math.max(0, inputTokens - cache.read - cache.creation),
    output_tokens: output,
    cache_creation_input_tokens: cache.creation,
    cache_read_input_tokens: cache.read,
    cache_creation: { ephemeral_5m_input_tokens: cache.creation - (cache.hour ?? 0), ephemeral_1h_input_tokens: cache.hour ?? 0 }
  })
  const tool = results.length === 0 ? chooseTool(body) : undefined
  const model = String(body["model"])
  if (tool !== undefined) {
    const input = toolArguments(tool["input_schema"], userText.trim() || "fake")
    const name = String(tool["name"])
    const text = `Calling ${name}.`
    return {
      id,
      model,
      content: [{ type: "text", text }, { type: "tool_use", id: `toolu_${id.slice(4)}_0`, name, input }],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: usage(pieces(text).length + countTokens(JSON.stringify(input)))
    }
  }
  const source = results.length > 0
    ? `Tool said: ${results.map((r) => typeof r["content"] === "string" ? r["content"] : textOfContent(r["content"])).join("; ")}`
    : replyTo(userText)
  const stop = Array.isArray(body["stop_sequences"]) ? body["stop_sequences"].map(String) : []
  const maxTokens = typeof body["max_tokens"] === "number" ? body["max_tokens"] : undefined
  const limited = limitReply(source, { stop, maxTokens })
  return {
    id,
    model,
    content: limited.text === "" ? [] : [{ type: "text", text: limited.text }],
    stop_reason: limited.stop === "end" ? "end_turn" : limited.stop,
    stop_sequence: limited.stopSequence ?? null,
    usage: usage(pieces(limited.text).length)
  }
}

/** The JSON body of a Messages answer. */
export const messageBody = (message: FakeMessage) => ({
  id: message.id,
  type: "message",
  role: "assistant",
  model: message.model,
  content: message.content,
  stop_reason: message.stop_reason,
  stop_sequence: message.stop_sequence,
  usage: message.usage
})

/** One SSE event as Anthropic writes it: `event: <type>` and `data: <json>` (which repeats the type). */
export const sseEvent = (type: string, data: Record<string, unknown>): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`

/** An in-stream `error` event (e.g. `overloaded_error`), for `Fault.inject`. */
export const errorEvent = (type: string, message: string): string =>
  sseEvent("error", { error: { type, message } })

/**
 * The event sequence of a streamed answer: message_start, ping, per block
 * content_block_start / deltas / content_block_stop, message_delta with the
 * stop reason and cumulative usage, and message_stop (the terminal event).
 */
export const streamEvents = (message: FakeMessage): Array<string> => {
  const events = [
    sseEvent("message_start", {
      message: { ...messageBody(message), content: [], stop_reason: null, stop_sequence: null, usage: { ...message.usage, output_tokens: 1 } }
    }),
    sseEvent("ping", {})
  ]
  message.content.forEach((block, index) => {
    if (block.type === "text") {
      events.push(sseEvent("content_block_start", { index, content_block: { type: "text", text: "" } }))
      for (const piece of pieces(block.text)) {
        events.push(sseEvent("content_block_delta", { index, delta: { type: "text_delta", text: piece } }))
      }
    } else {
      events.push(sseEvent("content_block_start", { index, content_block: { type: "tool_use", id: block.id, name: block.name, input: {} } }))
      const json = JSON.stringify(block.input)
      const half = Math.floor(json.length / 2)
      for (const partial of ["", json.slice(0, half), json.slice(half)]) {
        events.push(sseEvent("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: partial } }))
      }
    }
    events.push(sseEvent("content_block_stop", { index }))
  })
  events.push(
    sseEvent("message_delta", {
      delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence },
      usage: { output_tokens: message.usage.output_tokens }
    }),
    sseEvent("message_stop", {})
  )
  return events
}

const errorTypes: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error"
}

/** Anthropic's error `type` for a status. */
export const errorTypeOf = (status: number): string =>
  errorTypes[status] ?? (status === 503 ? "overloaded_error" : status >= 500 ? "api_error" : "invalid_request_error")

/** Anthropic's error body: `{"type":"error","error":{"type","message"},"request_id"}`. */
export const errorBody = (status: number, message: string, requestId: string) => ({
  type: "error",
  error: { type: errorTypeOf(status), message },
  request_id: requestId
})
