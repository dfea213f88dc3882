/**
 * Micro benchmark of reading Gemini and Ollama answers (issue 6): per decode
 * of an everyday complete answer and of one stream event, the wire Schema
 * (as the adapters decoded them before the fast path: `parseJson` of the body
 * text, or the Schema over the already parsed event) against `JSON.parse` +
 * the plain-JS fast path (Google/shape.ts, Ollama/shape.ts). Also the whole
 * Gemini stream translator's `push` of a text event, as the adapter runs it.
 * Plain synchronous JS: no Effect ops involved.
 *
 *   node --import tsx bench/micro-shapes-google-ollama.ts [calls per block]
 *
 * Runs from `packages/providers/src` (no build of providers needed).
 */
import { Headers } from "@effect/platform"
import { Either, Schema } from "effect"
import { GeminiResponse } from "../packages/providers/src/Google/Response.js"
import { plainResponse as plainGemini } from "../packages/providers/src/Google/shape.js"
import { GeminiStreamTranslator } from "../packages/providers/src/Google/Stream.js"
import { plainChatLine } from "../packages/providers/src/Ollama/shape.js"
import { WireChatLine } from "../packages/providers/src/Ollama/wire.js"

process.setSourceMapsEnabled(false)
const perBlock = Number(process.argv[2] ?? "20000")

/** Best and median microseconds per call of `once` over 7 blocks, after a warm-up. */
const time = (label: string, once: () => unknown) => {
  let sink = 0
  for (let i = 0; i < 20_000; i++) if (once() !== undefined) sink++
  const us: Array<number> = []
  for (let b = 0; b < 7; b++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < perBlock; i++) if (once() !== undefined) sink++
    us.push(Number(process.hrtime.bigint() - start) / 1000 / perBlock)
  }
  us.sort((a, b) => a - b)
  process.stdout.write(`${label.padEnd(48)} best ${us[0]!.toFixed(2)} us, median ${us[3]!.toFixed(2)} us${sink < 0 ? "!" : ""}\n`)
}

const geminiAnswer = JSON.stringify({
  candidates: [{
    content: { role: "model", parts: [{ text: "Echo: hello there, this is a fairly ordinary answer of a few words." }] },
    finishReason: "STOP",
    avgLogprobs: -0.12,
    index: 0
  }],
  usageMetadata: {
    promptTokenCount: 17,
    candidatesTokenCount: 15,
    totalTokenCount: 32,
    promptTokensDetails: [{ modality: "TEXT", tokenCount: 17 }],
    candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 15 }]
  },
  modelVersion: "gemini-2.5-flash",
  responseId: "Ab3dEfGhIjKlMnOp"
})
const geminiEvent = JSON.stringify({
  candidates: [{ content: { role: "model", parts: [{ text: " a few words" }] }, index: 0 }],
  usageMetadata: { promptTokenCount: 17, totalTokenCount: 17 },
  modelVersion: "gemini-2.5-flash",
  responseId: "Ab3dEfGhIjKlMnOp"
})
const ollamaAnswer = JSON.stringify({
  model: "llama3.2",
  created_at: "2025-07-07T20:32:53.84Z",
  message: { role: "assistant", content: "Echo: hello there, this is a fairly ordinary answer of a few words." },
  done: true,
  done_reason: "stop",
  total_duration: 3244883583,
  load_duration: 2969184542,
  prompt_eval_count: 169,
  prompt_eval_duration: 141656333,
  eval_count: 18,
  eval_duration: 133293625
})
const ollamaLine = JSON.stringify({
  model: "llama3.2",
  created_at: "2025-07-07T20:32:53.84Z",
  message: { role: "assistant", content: " a few" },
  done: false
})

const geminiJson = Schema.decodeUnknownEither(Schema.parseJson(GeminiResponse))
const geminiParsed = Schema.decodeUnknownEither(GeminiResponse)
const ollamaJson = Schema.decodeUnknownEither(Schema.parseJson(WireChatLine))

// Both paths must read the same values (else the numbers mean nothing).
const same = (body: string, fast: (u: unknown) => unknown, schema: (s: string) => Either.Either<unknown, unknown>) => {
  const a = fast(JSON.parse(body))
  if (a === undefined || JSON.stringify(a) !== JSON.stringify(Either.getOrThrow(schema(body)))) throw new Error(`differs: ${body}`)
}
same(geminiAnswer, plainGemini, geminiJson)
same(geminiEvent, plainGemini, geminiJson)
same(ollamaAnswer, plainChatLine, ollamaJson)
same(ollamaLine, plainChatLine, ollamaJson)

time("gemini answer: Schema parseJson", () => Either.getOrUndefined(geminiJson(geminiAnswer)))
time("gemini answer: JSON.parse + fast path", () => plainGemini(JSON.parse(geminiAnswer)))
time("gemini event (parsed): Schema", () => {
  const json: unknown = JSON.parse(geminiEvent)
  return Either.getOrUndefined(geminiParsed(json))
})
time("gemini event (parsed): fast path", () => plainGemini(JSON.parse(geminiEvent)))
time("ollama answer: Schema parseJson", () => Either.getOrUndefined(ollamaJson(ollamaAnswer)))
time("ollama answer: JSON.parse + fast path", () => plainChatLine(JSON.parse(ollamaAnswer)))
time("ollama line: Schema parseJson", () => Either.getOrUndefined(ollamaJson(ollamaLine)))
time("ollama line: JSON.parse + fast path", () => plainChatLine(JSON.parse(ollamaLine)))

// The Gemini translator as the adapter runs it, per text event (after the first).
const meta = { status: 200, headers: Headers.empty, requestId: undefined, rateLimit: undefined }
const translator = new GeminiStreamTranslator({
  provider: "google",
  info: { model: "google/gemini-2.5-flash", keyId: undefined, secrets: [] },
  meta,
  nowMs: 1_700_000_000_000,
  model: "gemini-2.5-flash",
  promptTokensEstimate: () => 0
})
const event = { _tag: "Event", event: "message", id: undefined, data: geminiEvent } as const
translator.push(event)
time("gemini translator push (text event)", () => translator.push(event))
