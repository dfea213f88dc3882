/**
 * A fake OpenAI Chat Completions server on `FakeServer`: `POST
 * /v1/chat/completions` (JSON and SSE), `GET /v1/models`, Bearer auth,
 * required-field validation, deterministic answers with usage, tool calls,
 * JSON mode, the documented error bodies and `x-ratelimit-*` headers.
 * See packages/testkit/README.md for what is covered.
 */
import { Effect, type Scope } from "effect"
import { type Answer, Fault, type FakeServer, make as makeServer, type RecordedRequest } from "./FakeServer.js"
import { countTokens, isRecord } from "./FakeServer/reply.js"

/** Options of the fake. */
export interface FakeOpenAiOptions {
  /** Keys accepted in `Authorization: Bearer` (default `["sk-test-openai"]`). */
  readonly apiKeys?: ReadonlyArray<string>
  /** Models it serves (default `gpt-4o-mini`, `gpt-4o`); others are 404 `model_not_found`. */
  readonly models?: ReadonlyArray<string>
  /** Prompt tokens (chars / 4) above this are 400 `context_length_exceeded` (default 128000). */
  readonly contextWindow?: number
  /**
   * Usage details to report (default none): `cached` prompt tokens read from
   * OpenAI's prompt cache and `audio` prompt tokens (both part of
   * `prompt_tokens`, together at most all of it), `reasoning` tokens and
   * `rejectedPrediction` tokens (a `prediction`'s tokens OpenAI did not use,
   * billed as output: both added to `completion_tokens`, which includes
   * them), and `acceptedPrediction` tokens (a `prediction`'s tokens used in
   * the answer, already among its tokens).
   */
  readonly usage?: {
    readonly cached?: number
    readonly audio?: number
    readonly reasoning?: number
    readonly acceptedPrediction?: number
    readonly rejectedPrediction?: number
  }
}

/** A running fake OpenAI: the server plus its base URL (with `/v1`). */
export interface FakeOpenAi extends FakeServer {
  /** `http://127.0.0.1:<port>/v1`, what the adapter's `baseUrl` should be. */
  readonly baseUrl: string
}

type Json = Record<string, unknown>

const errorBody = (message: string, type: string, code: string | null, param: string | null = null) => ({
  error: { message, type, param, code }
})

/** The OpenAI error body and headers for a status (used by faults and the built-in rate limit). */
export const errorAnswer = ({ message, retryAfterMs, status }: { status: number; message: string; retryAfterMs?: number }) => {
  const [type, code] = status === 400
    ? ["invalid_request_error", null]
    : status === 401
    ? ["invalid_request_error", "invalid_api_key"]
    : status === 403
    ? ["invalid_request_error", "unsupported_country_region_territory"]
    : status === 404
    ? ["invalid_request_error", "model_not_found"]
    : status === 429
    ? ["requests", "rate_limit_exceeded"]
    : status === 503
    ? ["server_error", "server_is_overloaded"]
    : ["server_error", null]
  const headers: Record<string, string> = retryAfterMs !== undefined
    ? {
      "retry-after": String(Math.ceil(retryAfterMs / 1000)),
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": `${Math.ceil(retryAfterMs)}ms`
    }
    : {}
  return { body: JSON.stringify(errorBody(message, type!, code ?? null)), headers }
}

/** OpenAI-specific faults. */
export const faults = {
  /** 429 `rate_limit_exceeded` with `retry-after` seconds (and the reset header). */
  rateLimited: (retryAfterSeconds: number): Fault =>
    Fault.status(429, {
      body: errorBody("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
      headers: {
        "retry-after": String(retryAfterSeconds),
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": `${retryAfterSeconds}s`
      }
    }),
  /** 429 `insufficient_quota`: credit exhausted. */
  insufficientQuota: Fault.status(429, {
    body: errorBody("You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota")
  }),
  /** 400 `context_length_exceeded`. */
  contextLength: Fault.status(400, {
    body: errorBody(
      "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
      "invalid_request_error",
      "context_length_exceeded",
      "messages"
    )
  }),
  /** 400 with code `content_filter` (as Azure OpenAI sends for a filtered prompt). */
  contentFilter: Fault.status(400, {
    body: errorBody("The response was filtered due to the prompt triggering content management policy.", "invalid_request_error", "content_filter", "prompt")
  }),
  /** A `data: {"error": ...}` event after `afterChunks` chunks; no `[DONE]` follows. */
  midStreamError: (afterChunks: number, type = "server_error", code: string | null = null): Fault =>
    Fault.inject(afterChunks, `data: ${JSON.stringify(errorBody("The server had an error while processing your request.", type, code))}\n\n`)
} as const

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((p) => (isRecord(p) && typeof p.text === "string" ? p.text : "")).join(" ")
    : ""

/** OpenAI's reasoning models (o-series, gpt-5): `max_completion_tokens` only, and the only ones to take `reasoning_effort`. */
const reasoningModel = /^(o\d|gpt-5)/

/** Start a fake OpenAI server, closed with the scope. */
export const make = (options: FakeOpenAiOptions = {}): Effect.Effect<FakeOpenAi, never, Scope.Scope> =>
  Effect.gen(function*() {
    const keys = options.apiKeys ?? ["sk-test-openai"]
    const models = options.models ?? ["gpt-4o-mini", "gpt-4o", "o4-mini"]
    const contextWindow = options.contextWindow ?? 128_000
    let served = 0

    const json = (status: number, body: unknown, extra: Json = {}): Answer => ({
      _tag: "Json",
      status,
      body,
      headers: { "x-request-id": `req_${served}`, ...(extra as Record<string, string>) }
    })
    const invalid = (message: string, param: string | null = null, code: string | null = null) =>
      json(400, errorBody(message, "invalid_request_error", code, param))

    const handle = (request: RecordedRequest): Answer => {
      served++
      const auth = request.headers["authorization"]
      if (auth === undefined || !auth.startsWith("Bearer ")) {
        return json(401, errorBody("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error", null))
      }
      const key = auth.slice("Bearer ".length)
      if (!keys.includes(key)) {
        return json(401, errorBody(`Incorrect API key provided: ${key.slice(0, 3)}****${key.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`, "invalid_request_error", "invalid_api_key"))
      }
      const path = request.path.split("?")[0]
      if (request.method === "GET" && path === "/v1/models") {
        return json(200, { object: "list", data: models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "openai" })) })
      }
      if (request.method !== "POST" || path !== "/v1/chat/completions") {
        return json(404, errorBody(`Invalid URL (${request.method} ${path})`, "invalid_request_error", null))
      }
      return chat(request.json)
    }

    const chat = (body: unknown): Answer => {
      if (!isRecord(body)) return invalid("We could not parse the JSON body of your request.")
      if (typeof body.model !== "string") return invalid("you must provide a model parameter", "model")
      if (!Array.isArray(body.messages) || body.messages.length === 0) {
        return invalid("[] is too short - 'messages'", "messages")
      }
      if (Array.isArray(body.tools) && body.tools.length === 0) {
        return invalid("Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.", "tools", "empty_array")
      }
      const noTools = !Array.isArray(body.tools) || body.tools.length === 0
      for (const name of ["tool_choice", "parallel_tool_calls"] as const) {
        if (noTools && body[name] !== undefined) {
          return invalid(`Invalid value for '${name}': '${name}' is only allowed when 'tools' are specified.`, name, "invalid_value")
        }
      }
      if (isRecord(body.response_format) && body.response_format.type === "json_object" && !/json/i.test(JSON.stringify(body.messages))) {
        return invalid("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", "messages", "invalid_value")
      }
      if (Array.isArray(body.stop) && body.stop.length > 4) {
        return invalid(`Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${body.stop.length} instead.`, "stop", "array_above_max_length")
      }
      if (body.stream_options !== undefined && body.stream !== true) {
        return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
      }
      // Reasoning models (o-series, gpt-5) take `max_completion_tokens` only, and only they take `reasoning_effort`, as OpenAI answers.
      const reasoning = reasoningModel.test(String(body.model))
      if (body.max_tokens !== undefined && reasoning) {
        return invalid(
          "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
          "max_tokens",
          "unsupported_parameter"
        )
      }
      // Both caps at once are refused on every model (gpt-4.1 included), as OpenAI answers LangChain and agentscope users.
      if (body.max_tokens != null && body.max_completion_tokens != null) {
        return invalid("Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.", "max_tokens", "invalid_parameter_combination")
      }
      // o-series models take the default sampling only, and o3 / o4-mini no `stop`, as OpenAI answers.
      if (/^o\d/.test(String(body.model))) {
        for (const [name, neutral] of [["temperature", 1], ["top_p", 1], ["presence_penalty", 0], ["frequency_penalty", 0]] as const) {
          const value = body[name]
          if (value !== undefined && value !== null && value !== neutral) {
            return invalid(`Unsupported value: '${name}' does not support ${String(value)} with this model. Only the default (${neutral}) value is supported.`, name, "unsupported_value")
          }
        }
        if (body.stop !== undefined && body.stop !== null) {
          return invalid("Unsupported parameter: 'stop' is not supported with this model.", "stop", "unsupported_parameter")
        }
      }
      if (body.reasoning_effort != null) {
        if (!reasoning) {
          return invalid("Unsupported parameter: 'reasoning_effort' is not supported with this model.", "reasoning_effort", "unsupported_parameter")
        }
        if (!["none", "minimal", "low", "medium", "high", "xhigh"].includes(String(body.reasoning_effort))) {
          return invalid(`Invalid value: '${String(body.reasoning_effort)}'. Supported values are: 'low', 'medium', and 'high'.`, "reasoning_effort", "invalid_value")
        }
      }
      if (!models.includes(body.model)) {
        return json(404, errorBody(`The model \`${body.model}\` does not exist or you do not have access to it.`, "invalid_request_error", "model_not_found"))
      }
      const messages = body.messages.filter(isRecord)
      // OpenAI caps tool-call ids at 40 characters, in assistant tool_calls and in tool messages alike.
      for (const [i, m] of messages.entries()) {
        const ids = [
          ...(Array.isArray(m.tool_calls) ? m.tool_calls.filter(isRecord).map((c, j) => [`messages[${i}].tool_calls[${j}].id`, c.id] as const) : []),
          ...(m.role === "tool" ? [[`messages[${i}].tool_call_id`, m.tool_call_id] as const] : [])
        ]
        const long = ids.find(([, id]) => typeof id === "string" && id.length > 40)
        if (long !== undefined) {
          return invalid(`Invalid '${long[0]}': string too long. Expected a string with maximum length 40, but got a string with length ${String(long[1]).length} instead.`, long[0], "string_above_max_length")
        }
      }
      const prompt = messages.map((m) => `${String(m.role)}\n${textOf(m.content)}`).join("\n") +
        (body.tools !== undefined ? JSON.stringify(body.tools) : "")
      const promptTokens = countTokens(prompt)
      if (promptTokens > contextWindow) {
        return invalid(`This model's maximum context length is ${contextWindow} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`, "messages", "context_length_exceeded")
      }
      const last = messages[messages.length - 1] ?? {}
      const lastText = textOf(last.content)
      const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : []
      const toolNames = tools.map((t) => (isRecord(t.function) ? String(t.function.name) : ""))
      const wanted = last.role === "user" && body.tool_choice !== "none"
        ? toolNames.find((name) => name.length > 0 && (lastText.includes(name) || body.tool_choice === "required"))
        : undefined
      const toolCall = wanted !== undefined
        ? { id: `call_${served}`, type: "function", function: { name: wanted, arguments: JSON.stringify({ input: lastText }) } }
        : undefined
      const format = isRecord(body.response_format) ? body.response_format.type : undefined
      let content = last.role === "tool"
        ? `Tool result received: ${lastText}`
        : format === "json_object" || format === "json_schema"
        ? JSON.stringify({ answer: `fake openai answer to: ${lastText}` })
        : `fake openai answer to: ${lastText}`
      const limit = typeof body.max_completion_tokens === "number"
        ? body.max_completion_tokens
        : typeof body.max_tokens === "number"
        ? body.max_tokens
        : undefined
      let finish = toolCall !== undefined ? "tool_calls" : "stop"
      if (toolCall === undefined && limit !== undefined && countTokens(content) > limit) {
        content = content.slice(0, limit * 4)
        finish = "length"
      }
      // `n` choices (OpenAI's default 1): the same answer, marked from the second on.
      const n = typeof body.n === "number" && Number.isInteger(body.n) && body.n > 1 ? body.n : 1
      const indexes = Array.from({ length: n }, (_, i) => i)
      const contentOf = (i: number) => (i === 0 ? content : `${content} (choice ${i + 1})`)
      const reasoningTokens = options.usage?.reasoning ?? 0
      const rejectedTokens = options.usage?.rejectedPrediction ?? 0
      const completionTokens = reasoningTokens + rejectedTokens + (toolCall !== undefined
        ? n * countTokens(toolCall.function.name + toolCall.function.arguments)
        : indexes.reduce((sum, i) => sum + countTokens(contentOf(i)), 0))
      const usage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: {
          cached_tokens: Math.min(options.usage?.cached ?? 0, promptTokens),
          audio_tokens: Math.min(options.usage?.audio ?? 0, Math.max(0, promptTokens - (options.usage?.cached ?? 0)))
        },
        completion_tokens_details: {
          reasoning_tokens: reasoningTokens,
          audio_tokens: 0,
          accepted_prediction_tokens: options.usage?.acceptedPrediction ?? 0,
          rejected_prediction_tokens: rejectedTokens
        }
      }
      const id = `chatcmpl-fake${served}`
      const created = 1_700_000_000 + served
      const headers = {
        "x-request-id": `req_${served}`,
        "openai-processing-ms": "12",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-limit-tokens": "1000000",
        "x-ratelimit-remaining-requests": String(Math.max(0, 10_000 - served)),
        "x-ratelimit-remaining-tokens": String(Math.max(0, 1_000_000 - usage.total_tokens)),
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-reset-tokens": "1s"
      }
      if (body.stream === true) {
        const base = { id, object: "chat.completion.chunk", created, model: body.model, system_fingerprint: "fp_fake" }
        const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true
        const event = (choices: Array<Json>, extra: Json = {}) =>
          `data: ${JSON.stringify({ ...base, choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`
        const deltasOf = (i: number): Array<Json> => toolCall !== undefined
          ? [
            { tool_calls: [{ index: 0, id: toolCall.id, type: "function", function: { name: toolCall.function.name, arguments: "" } }] },
            ...pieces(toolCall.function.arguments).map((p) => ({ tool_calls: [{ index: 0, function: { arguments: p } }] }))
          ]
          : pieces(contentOf(i)).map((p) => ({ content: p }))
        // With n > 1 the choices' events interleave, one choice per event, as OpenAI sends them.
        const deltas = indexes.map(deltasOf)
        const rounds = Math.max(...deltas.map((d) => d.length))
        const interleaved = Array.from({ length: rounds }, (_, k) =>
          indexes.flatMap((i) => (k < deltas[i]!.length ? [event([{ index: i, delta: deltas[i]![k]!, logprobs: null, finish_reason: null }])] : []))).flat()
        const chunks = [
          ...indexes.map((i) => event([{ index: i, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }])),
          ...interleaved,
          ...indexes.map((i) => event([{ index: i, delta: {}, logprobs: null, finish_reason: finish }])),
          ...(includeUsage ? [`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`] : []),
          "data: [DONE]\n\n"
        ]
        // The answer's end is its finish_reason chunks, the usage chunk and [DONE]: a cut leaves them all
        // out (a body closed after the finish_reasons without [DONE] is a complete answer, as vLLM sends it).
        const terminalChunks = indexes.length + (includeUsage ? 1 : 0) + 1
        return { _tag: "Stream", contentType: "text/event-stream; charset=utf-8", chunks, terminalChunks, headers, tokens: usage.total_tokens }
      }
      return {
        _tag: "Json",
        status: 200,
        headers,
        tokens: usage.total_tokens,
        body: {
          id,
          object: "chat.completion",
          created,
          model: body.model,
          choices: indexes.map((i) => ({
            index: i,
            message: { role: "assistant", content: toolCall !== undefined ? null : contentOf(i), refusal: null, ...(toolCall !== undefined ? { tool_calls: [toolCall] } : {}), annotations: [] },
            logprobs: null,
            finish_reason: finish
          })),
          usage,
          service_tier: "default",
          system_fingerprint: "fp_fake"
        }
      }
    }

    const server = yield* makeServer({ name: "openai", handle, errorAnswer })
    return { ...server, baseUrl: `${server.url}/v1` }
  })

/** Split a text into a few stream pieces (words with their spaces). */
const pieces = (text: string): Array<string> => {
  const parts = text.match(/\S+\s*|\s+/g) ?? []
  return parts.length > 0 ? parts : [text]
}
