/**
 * Ollama answers as OpenAI shapes: one answer object → `ChatResponse`, the
 * NDJSON lines → `ChatChunk`s. Ollama gives no response id and may omit
 * tool-call ids: both are synthesised. Missing counts are estimated and
 * marked so.
 */
import type { ChatChunk, ChatRequest, ChatResponse, ToolCallDelta, Usage } from "@modelgate/domain/Chat"
import { MalformedResponse, type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Either, Schema } from "effect"
import {
  type CallInfo,
  describeParseError,
  estimatedPromptTokens,
  estimateTokens,
  excerpt,
  type LineTranslator,
  parseEventJson,
  type Pull,
  pullNdjson,
  type StreamResponse
} from "../internal/index.js"
import { classifyStreamError } from "./errors.js"
import { plainChatLine } from "./shape.js"
import { argumentsText, WireChatLine } from "./wire.js"

/** Identity of one answer: a synthesised id, a creation time (seconds) and the model. */
export interface Identity {
  readonly id: string
  readonly created: number
  readonly model: string
}

/** Creation time in seconds from Ollama's `created_at`, or the fallback. */
export const createdOf = (createdAt: string | undefined, fallback: number): number => {
  const ms = createdAt === undefined ? Number.NaN : Date.parse(createdAt)
  return Number.isNaN(ms) ? fallback : Math.max(0, Math.floor(ms / 1000))
}

/** Usage from `prompt_eval_count` / `eval_count`, estimating (and marking) what is missing. */
export const usageOf = (line: WireChatLine, request: ChatRequest, completionText: string): Usage => {
  const prompt = line.prompt_eval_count ?? estimatedPromptTokens(request)
  const completion = line.eval_count ?? estimateTokens(completionText)
  const estimated = line.prompt_eval_count === undefined || line.eval_count === undefined
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, ...(estimated ? { estimated } : {}) }
}

const finishOf = (reason: string | undefined, toolCalls: boolean): "stop" | "length" | "tool_calls" | undefined =>
  toolCalls ? "tool_calls" : reason === "stop" ? "stop" : reason === "length" ? "length" : undefined

/** A complete (`stream: false`) answer as a `ChatResponse`, or why it is not one. */
export const normaliseResponse = (
  line: WireChatLine,
  request: ChatRequest,
  identity: Identity
): { readonly _tag: "Ok"; readonly value: ChatResponse } | { readonly _tag: "Invalid"; readonly reason: string } => {
  if (line.done !== true) return { _tag: "Invalid", reason: "the answer is not done" }
  const calls = (line.message?.tool_calls ?? []).map((call, i) => ({
    id: call.id ?? `call_${identity.id}_${i}`,
    type: "function" as const,
    function: { name: call.function.name, arguments: argumentsText(call.function.arguments) }
  }))
  const finish = finishOf(line.done_reason, calls.length > 0)
  if (finish === undefined) return { _tag: "Invalid", reason: `unknown done_reason ${JSON.stringify(line.done_reason)}` }
  const content = line.message?.content ?? ""
  return {
    _tag: "Ok",
    value: {
      id: identity.id,
      object: "chat.completion",
      created: createdOf(line.created_at, identity.created),
      model: line.model ?? identity.model,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: calls.length > 0 && content === "" ? null : content,
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
          refusal: null
        },
        logprobs: null,
        finish_reason: finish
      }],
      usage: usageOf(line, request, content + calls.map((c) => c.function.name + c.function.arguments).join(""))
    }
  }
}

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(WireChatLine))

/**
 * Translate the NDJSON body of a streamed answer; it must end with a `done:
 * true` line. A pull over the body's pull (opened here: the body is read once).
 */
export const pullStream = (
  provider: string,
  info: CallInfo,
  request: ChatRequest,
  response: StreamResponse,
  identity: Identity
): Pull<ChatChunk, ProviderError> => {
  const base = { provider, model: info.model, status: response.status, requestId: response.requestId, rateLimit: response.rateLimit }
  return pullNdjson(response.open(), ((): LineTranslator => {
    let done = false
    let first = true
    let toolIndex = 0
    let text = ""
    let created = identity.created
    let model = identity.model
    const chunk = (choices: ChatChunk["choices"], usage?: Usage): ChatChunk => ({
      id: identity.id,
      object: "chat.completion.chunk",
      created,
      model,
      choices,
      ...(usage !== undefined ? { usage } : {})
    })

    const push = (raw: string): Either.Either<ReadonlyArray<ChatChunk>, ProviderError> => {
      // The everyday lines are read in plain JS (shape.ts), anything else by the Schema as before.
      let line = plainChatLine(parseEventJson(raw))
      if (line === undefined) {
        const decoded = decodeLine(raw)
        if (decoded._tag === "Left") {
          return Either.left(new MalformedResponse({ ...base, detail: `${describeParseError(decoded.left, info.secrets)}; line: ${excerpt(raw, info.secrets, 200)}` }))
        }
        line = decoded.right
      }
      if (line.error !== undefined) return Either.left(classifyStreamError(line.error, base, info.secrets))
      if (first) {
        created = createdOf(line.created_at, created)
        model = line.model ?? model
      }
      const content = line.message?.content ?? ""
      const calls: Array<ToolCallDelta> = (line.message?.tool_calls ?? []).map((call) => {
        const index = toolIndex++
        return {
          index,
          id: call.id ?? `call_${identity.id}_${index}`,
          type: "function",
          function: { name: call.function.name, arguments: argumentsText(call.function.arguments) }
        }
      })
      text += content + calls.map((c) => `${c.function?.name ?? ""}${c.function?.arguments ?? ""}`).join("")
      const out: Array<ChatChunk> = []
      if (content.length > 0 || calls.length > 0 || first) {
        out.push(chunk([{
          index: 0,
          delta: {
            ...(first ? { role: "assistant" as const } : {}),
            content,
            ...(calls.length > 0 ? { tool_calls: calls } : {})
          },
          logprobs: null,
          finish_reason: null
        }]))
      }
      first = false
      if (line.done === true) {
        const finish = finishOf(line.done_reason, toolIndex > 0)
        if (finish === undefined) {
          return Either.left(new MalformedResponse({ ...base, detail: `unknown done_reason ${excerpt(JSON.stringify(line.done_reason), info.secrets)}` }))
        }
        done = true
        out.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finish }]))
        out.push(chunk([], usageOf(line, request, text)))
      }
      return Either.right(out)
    }

    return {
      push,
      done: () => done,
      interrupted: () => new StreamInterrupted({ ...base, detail: "the stream ended before a done: true line" })
    }
  })())
}
