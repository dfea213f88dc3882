/**
 * Gemini `streamGenerateContent?alt=sse` events -> ChatChunks (OpenAI stream
 * shape). Each event is a whole GenerateContentResponse holding only the new
 * parts; there is no terminal event, so the finish and usage chunks are sent
 * when the body ends, and only if a `finishReason` arrived (also when the
 * body breaks after every candidate's `finishReason`: `complete`).
 */
import type { Sse } from "@effect/experimental"
import type { ChatChunk, ChunkChoice, FinishReason, Usage } from "@modelgate/domain/Chat"
import { ContentFiltered, MalformedResponse, type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Either, Option, Schema } from "effect"
import { excerpt, inBandError, type StreamContext, stripSecrets } from "../internal/errors.js"
import { type ChunkTranslator, parseEventJson } from "../internal/sse.js"
import { classifyGoogle, GoogleErrorBody, statusOfRpc } from "./Errors.js"
import { estimateTokens } from "../internal/usage.js"
import {
  finishReasonOf,
  GeminiResponse,
  shownReason,
  textOfParts,
  toolCallsOf,
  type UsageMetadata,
  usageOf
} from "./Response.js"
import { plainResponse } from "./shape.js"

const decodeChunk = Schema.decodeUnknownEither(GeminiResponse)
const decodeGoogleError = Schema.decodeUnknownOption(GoogleErrorBody)

const isObject = (value: unknown): value is object => typeof value === "object" && value !== null

/** Who the stream is for and the answer that opened it. */
export interface GeminiStreamContext extends StreamContext {
  /** The model asked (reported when Gemini sends no `modelVersion`; its signatures go in the tool-call ids, ThoughtSignatures.ts). */
  readonly model: string
  /** The prompt's estimated tokens, asked for only when Gemini sent no usage. */
  readonly promptTokensEstimate: () => number
  /** The candidates asked for (`n`, default 1). */
  readonly choices?: number | undefined
}

interface CandidateState {
  tools: number
  text: string
  finish: string | undefined
}

/** The translation state of one Gemini stream. */
export class GeminiStreamTranslator implements ChunkTranslator {
  private id = ""
  private model = ""
  private usage: UsageMetadata | undefined = undefined
  private readonly candidates = new Map<number, CandidateState>()

  constructor(private readonly context: GeminiStreamContext) {}

  private get created() {
    return Math.floor(this.context.nowMs / 1000)
  }

  private common(detail: string) {
    const { meta } = this.context
    // It may quote the stream (a finish reason): the provider's text.
    const stripped = stripSecrets(detail, this.context.info.secrets)
    return { provider: this.context.provider, model: this.context.info.model, status: meta.status, requestId: meta.requestId, rateLimit: meta.rateLimit, detail: stripped }
  }

  /** The fields of an error about a chunk Gemini answered (and bills): with the usage reported so far. */
  private answered(detail: string) {
    const usage = this.usageSoFar()
    return usage === undefined ? this.common(detail) : { ...this.common(detail), usage }
  }

  private chunk(choices: ReadonlyArray<ChunkChoice>, usage?: ChatChunk["usage"]): ChatChunk {
    return { id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices, ...(usage !== undefined ? { usage } : {}) }
  }

  private stateOf(index: number): CandidateState {
    const existing = this.candidates.get(index)
    if (existing !== undefined) return existing
    const fresh: CandidateState = { tools: 0, text: "", finish: undefined }
    this.candidates.set(index, fresh)
    return fresh
  }

  /** Translate one SSE event. */
  push(event: Sse.Event): Either.Either<ReadonlyArray<ChatChunk>, ProviderError> {
    // The event's JSON is parsed once; the error Schema is tried only on an object with `error`.
    const json = parseEventJson(event.data)
    const error = isObject(json) && "error" in json ? Option.getOrUndefined(decodeGoogleError(json)) : undefined
    if (error !== undefined) {
      const rpc = error.error.status
      const status = (rpc !== undefined ? statusOfRpc[rpc] : undefined) ?? error.error.code ?? 500
      return Either.left(inBandError(classifyGoogle, this.context, event.data, status))
    }
    // The everyday events are read in plain JS (shape.ts), anything else by the Schema as before.
    let response = plainResponse(json)
    if (response === undefined) {
      const decoded = json === undefined ? undefined : decodeChunk(json)
      if (decoded === undefined || Either.isLeft(decoded)) {
        return Either.left(new MalformedResponse(this.common(`undecodable stream event: ${excerpt(event.data, this.context.info.secrets, 200)}`)))
      }
      response = decoded.right
    }
    const out: Array<ChatChunk> = []
    if (this.id === "") {
      this.id = response.responseId ?? `gemini-${this.context.nowMs.toString(36)}`
      this.model = response.modelVersion ?? this.context.model
      out.push(this.chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]))
    }
    if (response.usageMetadata !== undefined) this.usage = response.usageMetadata
    const candidates = response.candidates ?? []
    const block = response.promptFeedback?.blockReason
    if (block !== undefined && candidates.length === 0) {
      return Either.left(new ContentFiltered(this.answered(`prompt blocked: ${block}`)))
    }
    for (const [i, candidate] of candidates.entries()) {
      const index = candidate.index ?? i
      // Every choice opens with its own role delta, as OpenAI streams them (choice 0's went out with the first event).
      if (index !== 0 && !this.candidates.has(index)) {
        out.push(this.chunk([{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]))
      }
      const state = this.stateOf(index)
      const parts = candidate.content?.parts ?? []
      const text = textOfParts(parts)
      const calls = toolCallsOf(parts, `${this.id}_${index}`, this.context.model, state.tools)
      const delta: ChunkChoice["delta"] = {
        ...(text !== "" ? { content: text } : {}),
        ...(calls.length > 0
          ? { tool_calls: calls.map((call, k) => ({ index: state.tools + k, ...call })) }
          : {})
      }
      state.text += text
      state.tools += calls.length
      if (text !== "" || calls.length > 0) out.push(this.chunk([{ index, delta, logprobs: null, finish_reason: null }]))
      if (candidate.finishReason !== undefined) {
        // A safety stop, before any text or not, is a `content_filter` finish (a 200, as OpenAI's).
        const reason = candidate.finishReason
        if (finishReasonOf(reason, state.tools > 0) === undefined) {
          return Either.left(new MalformedResponse(this.answered(`unusable finishReason ${shownReason(reason)}`)))
        }
        state.finish = reason
      }
    }
    return Either.right(out)
  }

  /**
   * The usage reported so far: the latest `usageMetadata` (a running total
   * for the request), undefined before any.
   */
  usageSoFar(): Usage | undefined {
    const usage = this.usage
    return usage === undefined ? undefined : usageOf(usage, () => ({ prompt: 0, completion: 0 }))
  }

  /**
   * Whether every candidate asked for has its `finishReason`: the answer is
   * whole (the finish chunk carries the final usage), and a connection that
   * breaks after it loses nothing.
   */
  complete(): boolean {
    if (this.candidates.size < (this.context.choices ?? 1)) return false
    for (const state of this.candidates.values()) if (state.finish === undefined) return false
    return true
  }

  /** The finish and usage chunks if every candidate finished; StreamInterrupted otherwise. */
  end(): Either.Either<ReadonlyArray<ChatChunk>, ProviderError> {
    const states = [...this.candidates.entries()]
    if (states.length === 0 || states.some(([, s]) => s.finish === undefined)) {
      return Either.left(new StreamInterrupted(this.common("the stream ended without a finishReason")))
    }
    const finishes = states.map(([index, s]) => ({
      index,
      delta: {},
      logprobs: null,
      finish_reason: finishReasonOf(s.finish!, s.tools > 0) as FinishReason
    }))
    const usage = usageOf(this.usage, () => ({
      prompt: this.context.promptTokensEstimate(),
      completion: estimateTokens(states.map(([, s]) => s.text).join(""))
    }))
    return Either.right([this.chunk(finishes), this.chunk([], usage)])
  }
}
