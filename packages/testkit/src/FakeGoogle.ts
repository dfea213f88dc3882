/**
 * A fake Gemini API (v1beta) on `FakeServer`:
 * `POST /v1beta/models/{model}:generateContent`,
 * `:streamGenerateContent?alt=sse` (SSE; without `alt=sse` one JSON array),
 * `GET /v1beta/models` and `GET /v1beta/models/{model}`. It checks
 * `x-goog-api-key` (or `?key=`), rejects unknown fields as the real API does,
 * answers deterministically with `usageMetadata`, calls a declared function
 * when functions are offered, blocks prompts/answers that contain its safety
 * trigger words, and writes google.rpc.Status error bodies (429
 * RESOURCE_EXHAUSTED with RetryInfo) for scripted faults and its rate limit.
 */
import { Effect, type Scope } from "effect"
import {
  errorBody,
  type FakeExtraUsage,
  generationOf,
  responseBody,
  type SafetyTriggers,
  signatureOf,
  signsFunctionCalls,
  sseData,
  streamBodies,
  unsignedHistory
} from "./FakeGoogle/answer.js"
import { asRecord, countTokens } from "./FakeServer/reply.js"
import { validateGenerate } from "./FakeGoogle/validate.js"
import * as FakeServer from "./FakeServer.js"

export { errorBody, errorEvent, rpcStatusOf, sseData, streamChunks } from "./FakeGoogle/answer.js"

/** How the fake behaves. */
export interface FakeGoogleOptions {
  /** The key it accepts (default `AIza-fake-key`). */
  readonly apiKey?: string
  /** Models it serves (by default every name; a list makes others a 404). */
  readonly models?: ReadonlyArray<string>
  /** Prompts above this many (fake) tokens are a 400 "input token count … exceeds" (default 1 000 000). */
  readonly inputTokenLimit?: number
  /** Safety trigger words (defaults `[block-prompt]`, `[block-answer]`). */
  readonly safety?: Partial<SafetyTriggers>
  /** Cached and thinking tokens to report (default none). */
  readonly usage?: Partial<FakeExtraUsage>
}

/** A running fake Gemini server. */
export interface FakeGoogle extends FakeServer.FakeServer {
  /** The key it accepts. */
  readonly apiKey: string
  /** What to configure as the provider's `baseUrl` (the bare host: the adapter adds the API version path). */
  readonly baseUrl: string
}

/** The default key the fake accepts. */
export const defaultApiKey = "AIza-fake-key"

const json = (status: number, body: unknown): FakeServer.Answer => ({ _tag: "Json", status, body })

/** The provider the fake plugs into `FakeServer`. */
export const provider = (options: FakeGoogleOptions = {}): FakeServer.FakeProvider => {
  const apiKey = options.apiKey ?? defaultApiKey
  const safety: SafetyTriggers = { blockPrompt: "[block-prompt]", blockAnswer: "[block-answer]", ...options.safety }
  const extra: FakeExtraUsage = { cached: 0, thoughts: 0, ...options.usage }
  const limit = options.inputTokenLimit ?? 1_000_000
  let counter = 0
  const issued = new Set<string>()
  const known = (model: string) => options.models === undefined || options.models.includes(model)
  const notFound = (model: string, method: string) =>
    json(404, errorBody(404, `models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`))
  const modelInfo = (name: string) => ({
    name: `models/${name}`,
    displayName: name,
    inputTokenLimit: limit,
    outputTokenLimit: 8192,
    supportedGenerationMethods: ["generateContent", "countTokens"]
  })

  const jsonBesideFunctions = (request: Record<string, unknown>): boolean =>
    asRecord(request["generationConfig"])?.["responseMimeType"] === "application/json" &&
    Array.isArray(request["tools"]) && request["tools"].some((tool) => Array.isArray(asRecord(tool)?.["functionDeclarations"]))

  const generate = (model: string, method: string, query: URLSearchParams, body: unknown): FakeServer.Answer => {
    if (!known(model)) return notFound(model, method)
    const problem = validateGenerate(body)
    if (problem !== undefined) return json(400, errorBody(400, problem))
    const request = asRecord(body)!
    // Gemini before 3 takes no JSON output beside function declarations (Gemini 3 takes both).
    if (!signsFunctionCalls(model) && jsonBesideFunctions(request)) {
      return json(400, errorBody(400, "Function calling with a response mime type: 'application/json' is unsupported"))
    }
    // Gemini 2.5 and 3 take no presence or frequency penalty (2.0 did).
    const config = asRecord(request["generationConfig"])
    if (refusesPenalties(model) && (config?.["presencePenalty"] !== undefined || config?.["frequencyPenalty"] !== undefined)) {
      return json(400, errorBody(400, `Penalty is not enabled for models/${model}`))
    }
    const prompt = countTokens(JSON.stringify(request["systemInstruction"] ?? "") + JSON.stringify(request["contents"]))
    if (prompt > limit) {
      return json(400, errorBody(400, `The input token count (${prompt}) exceeds the maximum number of tokens allowed (${limit}).`))
    }
    if (signsFunctionCalls(model)) {
      const unsigned = unsignedCall(request["contents"], issued)
      if (unsigned !== undefined) return json(400, errorBody(400, unsigned))
    }
    const g = generationOf(request, { id: `fake-${++counter}`, model, safety, extra })
    if (signsFunctionCalls(model)) issued.add(signatureOf(g.responseId))
    const tokens = g.usage.prompt + g.usage.candidates
    if (method === "generateContent") return { ...json(200, responseBody(g)), tokens }
    const bodies = streamBodies(g)
    if (query.get("alt") !== "sse") return { ...json(200, bodies), tokens }
    return { _tag: "Stream", contentType: "text/event-stream", chunks: bodies.map(sseData), terminalChunks: 1, tokens }
  }

  return {
    name: "google",
    handle: (request) => {
      const [path = "/", search = ""] = request.path.split("?")
      const query = new URLSearchParams(search)
      const key = request.headers["x-goog-api-key"] ?? query.get("key") ?? undefined
      if (key === undefined) {
        return json(403, errorBody(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."))
      }
      if (key !== apiKey) {
        return json(400, errorBody(400, "API key not valid. Please pass a valid API key.", {
          details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" }]
        }))
      }
      const call = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(path)
      if (request.method === "POST" && call !== null) return generate(decodeURIComponent(call[1]!), call[2]!, query, request.json)
      if (request.method === "GET" && path === "/v1beta/models") return json(200, { models: (options.models ?? ["gemini-fake"]).map(modelInfo) })
      const model = /^\/v1beta\/models\/([^/:]+)$/.exec(path)?.[1]
      if (request.method === "GET" && model !== undefined) {
        const name = decodeURIComponent(model)
        return known(name) ? json(200, modelInfo(name)) : notFound(name, "get")
      }
      return json(404, errorBody(404, `The requested URL ${path} was not found on this server.`))
    },
    errorAnswer: ({ message, retryAfterMs, status }) => ({
      body: JSON.stringify(errorBody(status, message, retryAfterMs !== undefined ? { retryDelayMs: retryAfterMs } : {})),
      headers: {}
    })
  }
}

/**
 * Models that answer a `presencePenalty` or `frequencyPenalty` with a 400
 * "Penalty is not enabled for models/<model>": Gemini 2.5 (reported for
 * 2.5 Flash, where 2.0 took them: github.com/PublicAffairs/openai-gemini
 * issue 63, BerriAI/litellm PR 32273) and Gemini 3 (BerriAI/litellm PR 16907).
 */
export const refusesPenalties = (model: string): boolean => /^gemini-(2\.5|[3-9])/.test(model)

/**
 * The problem with the current turn's function calls (the model contents
 * after the last user text) as Gemini 3 checks them: the first function
 * call of each must carry a signature it gave (or its escape for history
 * another model wrote); undefined when they do.
 */
const unsignedCall = (contents: unknown, issued: ReadonlySet<string>): string | undefined => {
  const list = Array.isArray(contents) ? contents.map((c) => asRecord(c) ?? {}) : []
  const partsOf = (content: Record<string, unknown>) => (Array.isArray(content["parts"]) ? content["parts"].map((p) => asRecord(p) ?? {}) : [])
  let start = 0
  list.forEach((content, i) => {
    if (content["role"] !== "model" && partsOf(content).some((p) => typeof p["text"] === "string")) start = i + 1
  })
  for (let i = start; i < list.length; i++) {
    if (list[i]!["role"] !== "model") continue
    const first = partsOf(list[i]!).find((p) => p["functionCall"] !== undefined)
    if (first === undefined) continue
    const signature = first["thoughtSignature"]
    const name = String(asRecord(first["functionCall"])?.["name"])
    if (signature === undefined) return `Function call \`${name}\` in the \`${i + 1}.\` content block is missing a \`thought_signature\`.`
    if (typeof signature !== "string" || (!issued.has(signature) && !unsignedHistory.includes(signature))) return "Corrupted thought signature."
  }
  return undefined
}

/** Start a fake Gemini server on 127.0.0.1 (random port); it closes with the scope. */
export const make = (options: FakeGoogleOptions = {}): Effect.Effect<FakeGoogle, never, Scope.Scope> =>
  Effect.map(FakeServer.make(provider(options)), (server) => ({ ...server, apiKey: options.apiKey ?? defaultApiKey, baseUrl: server.url }))
