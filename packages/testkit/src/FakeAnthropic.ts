/**
 * A fake Anthropic Messages API on `FakeServer`: `POST /v1/messages` (JSON and
 * named SSE events), `GET /v1/models` and `GET /v1/models/{id}`. It checks
 * `x-api-key` (or `Authorization: Bearer`) and `anthropic-version`, validates
 * bodies as the real API does (no `max_tokens` is a 400
 * `invalid_request_error`), answers deterministically with usage and
 * `anthropic-ratelimit-*` headers, calls a tool when tools are offered, and
 * writes Anthropic's own error bodies and headers for scripted faults and its
 * built-in rate limit.
 *
 * ```ts
 * const fake = yield* FakeAnthropic.make()
 * yield* fake.script(Fault.status(529))
 * const [sent] = yield* fake.requests
 * ```
 */
import { Effect, type Scope } from "effect"
import { type FakeCache, answerOf, errorBody, messageBody, streamEvents } from "./FakeAnthropic/answer.js"
import { breakpointProblem, makePromptCache } from "./FakeAnthropic/promptCache.js"
import { validateMessages } from "./FakeAnthropic/validate.js"
import * as FakeServer from "./FakeServer.js"
import { asRecord, countTokens, nowMs } from "./FakeServer/reply.js"

export { errorBody, errorEvent, sseEvent, streamEvents } from "./FakeAnthropic/answer.js"

/** How the fake behaves. */
export interface FakeAnthropicOptions {
  /** The key it accepts (default `sk-ant-fake-key`). */
  readonly apiKey?: string
  /** Models it serves (by default every model name; a list makes others a 404). */
  readonly models?: ReadonlyArray<string>
  /** Prompts above this many (fake) tokens are a 400 "prompt is too long" (default 200 000). */
  readonly contextWindow?: number
  /** Cached prompt tokens to report in usage when a request has no `cache_control` (default none; with one, its prompt cache decides). */
  readonly cache?: FakeCache
  /**
   * The limits it reports in `anthropic-ratelimit-*` headers (default 1000
   * requests, 100 000 tokens). With `outputTokens`, it also reports an output
   * limit (`anthropic-ratelimit-output-tokens-*`, OTPM): that many less the
   * output tokens of every answer so far, whole again in 60 s. As Anthropic
   * charges a call's `max_tokens` when it starts, a stream's headers (sent as
   * it opens, before its output is settled) count its whole `max_tokens`.
   */
  readonly limits?: { readonly requests: number; readonly tokens: number; readonly outputTokens?: number }
  /**
   * The instant (ms since the epoch) its `anthropic-ratelimit-*-reset` headers
   * count from, read at each answer (default: the real clock). Pin it to the
   * instant a test's `TestClock` shows to make the reset durations exact.
   */
  readonly now?: () => number
}

/** A running fake Anthropic server. */
export interface FakeAnthropic extends FakeServer.FakeServer {
  /** The key it accepts. */
  readonly apiKey: string
  /** What to configure as the provider's `baseUrl` (the bare host: the adapter adds the API version path). */
  readonly baseUrl: string
}

/** The default key the fake accepts. */
export const defaultApiKey = "sk-ant-fake-key"

/** The Anthropic version header value the fake requires to be present. */
export const knownVersions: ReadonlyArray<string> = ["2023-06-01", "2023-01-01", "2026-10-21"]

/** The provider the fake plugs into `FakeServer`. */
export const provider = (options: FakeAnthropicOptions = {}): FakeServer.FakeProvider => {
  const apiKey = options.apiKey ?? defaultApiKey
  const limits = options.limits ?? { requests: 1000, tokens: 100_000 }
  const cache = options.cache ?? { read: 0, creation: 0 }
  const contextWindow = options.contextWindow ?? 200_000
  const promptCache = makePromptCache()
  let served = 0
  let usedTokens = 0
  let usedOutput = 0
  let counter = 0
  const nextId = () => `${++counter}`.padStart(6, "0")
  const now = options.now ?? nowMs
  const resetAt = () => new Date(now() + 60_000).toISOString()

  const error = (status: number, message: string, headers: Record<string, string> = {}): FakeServer.Answer => {
    const requestId = `req_fake_${nextId()}`
    return { _tag: "Json", status, body: errorBody(status, message, requestId), headers: { "request-id": requestId, ...headers } }
  }

  /** `heldOutput`: output tokens counted beyond those written so far (a stream's `max_tokens` not yet settled). */
  const limitHeaders = (heldOutput = 0): Record<string, string> => ({
    "anthropic-ratelimit-requests-limit": String(limits.requests),
    "anthropic-ratelimit-requests-remaining": String(Math.max(0, limits.requests - served)),
    "anthropic-ratelimit-requests-reset": resetAt(),
    "anthropic-ratelimit-tokens-limit": String(limits.tokens),
    "anthropic-ratelimit-tokens-remaining": String(Math.max(0, limits.tokens - usedTokens)),
    "anthropic-ratelimit-tokens-reset": resetAt(),
    ...(limits.outputTokens === undefined ? {} : {
      "anthropic-ratelimit-output-tokens-limit": String(limits.outputTokens),
      "anthropic-ratelimit-output-tokens-remaining": String(Math.max(0, limits.outputTokens - usedOutput - heldOutput)),
      "anthropic-ratelimit-output-tokens-reset": resetAt()
    })
  })

  const messages = (json: unknown): FakeServer.Answer => {
    const problem = validateMessages(json) ?? breakpointProblem(asRecord(json) ?? {})
    if (problem !== undefined) return error(400, problem)
    const body = asRecord(json)!
    const model = String(body["model"])
    if (options.models !== undefined && !options.models.includes(model)) return error(404, `model: ${model}`)
    const prompt = countTokens(JSON.stringify(body["system"] ?? "") + JSON.stringify(body["messages"]))
    if (prompt > contextWindow) return error(400, `prompt is too long: ${prompt} tokens > ${contextWindow} maximum`)
    const id = nextId()
    const message = answerOf(body, `msg_${id}`, promptCache(body) ?? cache)
    const tokens = prompt + message.usage.output_tokens
    served++
    usedTokens += tokens
    usedOutput += message.usage.output_tokens
    const streamed = body["stream"] === true
    // A stream's headers go out as it opens: its `max_tokens` is still charged whole (settled at its end).
    const maxTokens = typeof body["max_tokens"] === "number" ? body["max_tokens"] : 0
    const headers = { "request-id": `req_fake_${id}`, ...limitHeaders(streamed ? Math.max(0, maxTokens - message.usage.output_tokens) : 0) }
    return streamed
      ? { _tag: "Stream", contentType: "text/event-stream", chunks: streamEvents(message), terminalChunks: 1, headers, tokens }
      : { _tag: "Json", status: 200, body: messageBody(message), headers, tokens }
  }

  const modelInfo = (id: string) => ({ type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" })

  return {
    name: "anthropic",
    handle: (request) => {
      const path = request.path.split("?")[0] ?? "/"
      const bearer = request.headers["authorization"]?.replace(/^Bearer\s+/i, "")
      const key = request.headers["x-api-key"] ?? bearer
      if (key === undefined) return error(401, "x-api-key header is required")
      if (key !== apiKey) return error(401, "invalid x-api-key")
      const version = request.headers["anthropic-version"]
      if (version === undefined) return error(400, "anthropic-version: header is required")
      if (!knownVersions.includes(version)) return error(400, `anthropic-version: invalid version ${version}`)
      if (request.method === "POST" && path === "/v1/messages") return messages(request.json)
      if (request.method === "GET" && path === "/v1/models") {
        const data = (options.models ?? ["claude-fake-1"]).map(modelInfo)
        return { _tag: "Json", status: 200, body: { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null } }
      }
      const model = /^\/v1\/models\/([^/]+)$/.exec(path)?.[1]
      if (request.method === "GET" && model !== undefined) {
        const id = decodeURIComponent(model)
        return options.models === undefined || options.models.includes(id)
          ? { _tag: "Json", status: 200, body: modelInfo(id) }
          : error(404, `model: ${id}`)
      }
      return error(404, `Not found: ${request.method} ${path}`)
    },
    errorAnswer: ({ message, retryAfterMs, status }) => {
      const requestId = `req_fake_${nextId()}`
      const wait = retryAfterMs ?? 1_000
      const limited: Record<string, string> = status === 429
        ? {
          "retry-after": String(Math.max(1, Math.ceil(wait / 1000))),
          ...limitHeaders(),
          "anthropic-ratelimit-requests-remaining": "0",
          "anthropic-ratelimit-requests-reset": new Date(now() + wait).toISOString()
        }
        : {}
      return { body: JSON.stringify(errorBody(status, message, requestId)), headers: { "request-id": requestId, ...limited } }
    }
  }
}

/** Start a fake Anthropic server on 127.0.0.1 (random port); it closes with the scope. */
export const make = (options: FakeAnthropicOptions = {}): Effect.Effect<FakeAnthropic, never, Scope.Scope> =>
  Effect.map(FakeServer.make(provider(options)), (server) => ({ ...server, apiKey: options.apiKey ?? defaultApiKey, baseUrl: server.url }))
