/**
 * The fake's answers in Gemini's wire format: GenerateContentResponse bodies,
 * the SSE chunk sequence, and google.rpc.Status error bodies.
 */
import { asRecord, countTokens, limitReply, pieces, replyTo, toolArguments } from "../FakeServer/reply.js"

/** Words that make the fake block a prompt or an answer, as its safety filter would. */
export interface SafetyTriggers {
  /** A prompt containing this is answered with `promptFeedback.blockReason: SAFETY` and no candidates. */
  readonly blockPrompt: string
  /** A prompt containing this gets a candidate with `finishReason: SAFETY` and no content. */
  readonly blockAnswer: string
}

/**
 * Cached and thinking tokens the fake reports (it has neither); `cachedAudio`
 * of the cached tokens are audio (at most the prompt's audio).
 */
export interface FakeExtraUsage {
  readonly cached: number
  readonly thoughts: number
  readonly cachedAudio?: number
}

/** One answer: parts, finish reason and usage, before it is written as JSON or SSE. */
export interface FakeGeneration {
  readonly responseId: string
  readonly modelVersion: string
  readonly parts: ReadonlyArray<Record<string, unknown>>
  readonly finishReason: string | undefined
  readonly blockReason: string | undefined
  readonly usage: {
    readonly prompt: number
    readonly candidates: number
    readonly cached: number
    readonly thoughts: number
    /** Of `prompt`, the tokens of the prompt's audio parts (reported by modality when there are any). */
    readonly audio: number
    /** Of `cached`, the audio tokens. */
    readonly cachedAudio: number
  }
}

/** The tokens the fake counts for the prompt's audio parts (`inlineData` with an `audio/*` type): their JSON, chars / 4. */
const audioTokensOf = (contents: ReadonlyArray<Record<string, unknown>>): number =>
  contents.flatMap(partsOf).reduce((n, part) => {
    const data = asRecord(part["inlineData"])
    return typeof data?.["mimeType"] === "string" && data["mimeType"].startsWith("audio/") ? n + countTokens(JSON.stringify(part)) : n
  }, 0)

const partsOf = (content: unknown): ReadonlyArray<Record<string, unknown>> => {
  const parts = asRecord(content)?.["parts"]
  return Array.isArray(parts) ? parts.map((p) => asRecord(p) ?? {}) : []
}

const textOf = (parts: ReadonlyArray<Record<string, unknown>>) =>
  parts.filter((p) => typeof p["text"] === "string").map((p) => String(p["text"])).join("")

const declarationsOf = (body: Record<string, unknown>): ReadonlyArray<Record<string, unknown>> =>
  (Array.isArray(body["tools"]) ? body["tools"] : []).flatMap((tool) => {
    const list = asRecord(tool)?.["functionDeclarations"]
    return Array.isArray(list) ? list.map((d) => asRecord(d) ?? {}) : []
  })

/** Models that sign their function calls and refuse history without the signatures (Gemini 3). */
export const signsFunctionCalls = (model: string): boolean => model.startsWith("gemini-3")

/** The thought signature the fake gives the function calls of answer `id`. */
export const signatureOf = (id: string): string => `sig-${id}`

/** The values Gemini takes in place of a signature for history another model wrote (its documented escape). */
export const unsignedHistory: ReadonlyArray<string> = ["skip_thought_signature_validator", "context_engineering_is_the_way_to_go"]

/**
 * The deterministic answer to a valid body: a function call when functions
 * are declared (and calling is not NONE) and the last turn holds no function
 * response; otherwise `Echo: <last user text>` (JSON `{"echo": …}` under
 * `responseMimeType: application/json`) cut by stop sequences and
 * `maxOutputTokens` (in word pieces).
 */
export const generationOf = (
  body: Record<string, unknown>,
  options: { readonly id: string; readonly model: string; readonly safety: SafetyTriggers; readonly extra: FakeExtraUsage }
): FakeGeneration => {
  const contents = (body["contents"] as ReadonlyArray<unknown>).map((c) => asRecord(c) ?? {})
  const lastParts = partsOf(contents[contents.length - 1])
  const userText = textOf(lastParts)
  const prompt = countTokens(JSON.stringify(body["systemInstruction"] ?? "") + JSON.stringify(contents))
  const base = { responseId: options.id, modelVersion: options.model, blockReason: undefined }
  const audio = Math.min(audioTokensOf(contents), prompt)
  const cachedAudio = Math.min(options.extra.cachedAudio ?? 0, audio, options.extra.cached)
  const usage = (candidates: number) => ({ prompt, candidates, cached: options.extra.cached, thoughts: options.extra.thoughts, audio, cachedAudio })
  if (userText.includes(options.safety.blockPrompt)) {
    return { ...base, parts: [], finishReason: undefined, blockReason: "SAFETY", usage: usage(0) }
  }
  if (userText.includes(options.safety.blockAnswer)) return { ...base, parts: [], finishReason: "SAFETY", usage: usage(0) }
  const responses = lastParts.flatMap((p) => (p["functionResponse"] === undefined ? [] : [asRecord(p["functionResponse"]) ?? {}]))
  const config = asRecord(body["generationConfig"]) ?? {}
  const mode = asRecord(asRecord(body["toolConfig"])?.["functionCallingConfig"])
  const allowed = Array.isArray(mode?.["allowedFunctionNames"]) ? mode["allowedFunctionNames"].map(String) : undefined
  const declarations = declarationsOf(body).filter((d) => allowed === undefined || allowed.includes(String(d["name"])))
  const declaration = responses.length === 0 && mode?.["mode"] !== "NONE" ? declarations[0] : undefined
  if (declaration !== undefined) {
    const args = toolArguments(declaration["parametersJsonSchema"] ?? declaration["parameters"], userText.trim() || "fake")
    // Gemini 3 signs its function calls (the first part of a batch), and wants the signature back.
    const signature = signsFunctionCalls(options.model) ? { thoughtSignature: signatureOf(options.id) } : {}
    const parts = [{ functionCall: { name: String(declaration["name"]), args }, ...signature }]
    return { ...base, parts, finishReason: "STOP", usage: usage(countTokens(JSON.stringify(args)) + 1) }
  }
  const reply = responses.length > 0
    ? `Tool said: ${responses.map((r) => JSON.stringify(r["response"])).join("; ")}`
    : replyTo(userText)
  const stop = Array.isArray(config["stopSequences"]) ? config["stopSequences"].map(String) : []
  const maxTokens = typeof config["maxOutputTokens"] === "number" ? config["maxOutputTokens"] : undefined
  const limited = limitReply(reply, { stop, maxTokens })
  const text = config["responseMimeType"] === "application/json" ? JSON.stringify({ echo: limited.text }) : limited.text
  return {
    ...base,
    parts: text === "" ? [] : [{ text }],
    finishReason: limited.stop === "max_tokens" ? "MAX_TOKENS" : "STOP",
    usage: usage(pieces(text).length)
  }
}

const usageMetadata = (usage: FakeGeneration["usage"]) => ({
  promptTokenCount: usage.prompt,
  candidatesTokenCount: usage.candidates,
  totalTokenCount: usage.prompt + usage.candidates + usage.thoughts,
  ...(usage.cached > 0 ? { cachedContentTokenCount: usage.cached } : {}),
  ...(usage.thoughts > 0 ? { thoughtsTokenCount: usage.thoughts } : {}),
  // The prompt by modality, as Gemini reports it (shown only when it holds audio).
  ...(usage.audio > 0
    ? { promptTokensDetails: [{ modality: "TEXT", tokenCount: usage.prompt - usage.audio }, { modality: "AUDIO", tokenCount: usage.audio }] }
    : {}),
  // The cached part by modality (when some of it is audio).
  ...(usage.cachedAudio > 0
    ? {
      cacheTokensDetails: [{ modality: "TEXT", tokenCount: usage.cached - usage.cachedAudio }, { modality: "AUDIO", tokenCount: usage.cachedAudio }]
    }
    : {})
})

/** The JSON body of a generateContent answer. */
export const responseBody = (g: FakeGeneration) =>
  g.blockReason !== undefined
    ? { promptFeedback: { blockReason: g.blockReason }, usageMetadata: usageMetadata(g.usage), modelVersion: g.modelVersion, responseId: g.responseId }
    : {
      candidates: [{
        ...(g.parts.length > 0 ? { content: { role: "model", parts: g.parts } } : {}),
        ...(g.finishReason !== undefined ? { finishReason: g.finishReason } : {}),
        index: 0
      }],
      usageMetadata: usageMetadata(g.usage),
      modelVersion: g.modelVersion,
      responseId: g.responseId
    }

/** One SSE event as Gemini writes it (`data:` only, CRLF line endings). */
export const sseData = (data: unknown): string => `data: ${JSON.stringify(data)}\r\n\r\n`

/**
 * The streamed chunks of an answer: text in pieces of two words, a function
 * call whole in one chunk, usage as running totals, and `finishReason` on
 * the last chunk only (the terminal chunk a `cut` fault leaves out).
 */
export const streamChunks = (g: FakeGeneration): Array<string> => streamBodies(g).map(sseData)

/** The streamed answers as objects (what `streamGenerateContent` without `alt=sse` returns as one array). */
export const streamBodies = (g: FakeGeneration): Array<unknown> => {
  if (g.blockReason !== undefined) return [responseBody(g)]
  const slices: Array<ReadonlyArray<Record<string, unknown>>> = []
  for (const part of g.parts) {
    if (typeof part["text"] === "string") {
      const words = pieces(part["text"])
      for (let i = 0; i < words.length; i += 2) slices.push([{ text: words.slice(i, i + 2).join("") }])
    } else slices.push([part])
  }
  let sent = 0
  const chunk = (parts: ReadonlyArray<Record<string, unknown>>, finish: string | undefined) => {
    sent += parts.reduce((n, p) => n + (typeof p["text"] === "string" ? pieces(p["text"]).length : 0), 0)
    return {
      candidates: [{ ...(parts.length > 0 ? { content: { role: "model", parts } } : {}), ...(finish !== undefined ? { finishReason: finish } : {}), index: 0 }],
      usageMetadata: usageMetadata({ ...g.usage, candidates: finish !== undefined ? g.usage.candidates : sent }),
      modelVersion: g.modelVersion,
      responseId: g.responseId
    }
  }
  const last = slices.pop() ?? []
  return [...slices.map((parts) => chunk(parts, undefined)), chunk(last, g.finishReason)]
}

const rpcStatus: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  402: "RESOURCE_EXHAUSTED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED"
}

/** The google.rpc status name of an HTTP status. */
export const rpcStatusOf = (status: number): string =>
  rpcStatus[status] ?? (status >= 500 ? "INTERNAL" : status >= 400 ? "FAILED_PRECONDITION" : "UNKNOWN")

/** A google.rpc.Status body; a 429 carries `QuotaFailure` and `RetryInfo.retryDelay`. */
export const errorBody = (
  status: number,
  message: string,
  options: { readonly retryDelayMs?: number; readonly details?: ReadonlyArray<unknown> } = {}
) => {
  const details = options.details ?? (status === 429
    ? [
      {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests", quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier" }]
      },
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${Math.ceil((options.retryDelayMs ?? 1_000) / 1000)}s` }
    ]
    : undefined)
  return { error: { code: status, message, status: rpcStatusOf(status), ...(details !== undefined ? { details } : {}) } }
}

/** An in-stream error event (`data: {"error":{…}}`), for `Fault.inject`. */
export const errorEvent = (status: number, message: string): string => sseData(errorBody(status, message))
