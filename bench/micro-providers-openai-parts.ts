/**
 * The OpenAI adapter's per-request work outside the HTTP client, each part
 * alone (no network): building the upstream request, reading the answer's
 * headers, decoding a complete answer, and translating the bench upstream's
 * streamed body (8 SSE events in one buffer) through the adapter's pull.
 * CPU per call (best and median of blocks) and Effect ops per call.
 *
 *   node --import tsx bench/micro-providers-openai-parts.ts [part] [calls per block] [blocks]
 *
 * part: request | headers | json | stream | all (default).
 * MG_OPENAI_SRC: another copy of the providers' src (an A/B baseline).
 */
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { CallContext } from "@modelgate/core/Provider"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { Chunk, Effect, Option, Redacted } from "effect"
import { completionText, streamText } from "./upstream-answers.js"

process.setSourceMapsEnabled(false)
const src = process.env["MG_OPENAI_SRC"] ?? "../packages/providers/src"
const Stream: typeof import("../packages/providers/src/OpenAi/stream.js") = await import(`${src}/OpenAi/stream.ts`)
const Errors: typeof import("../packages/providers/src/OpenAi/errors.js") = await import(`${src}/OpenAi/errors.ts`)
const Wire: typeof import("../packages/providers/src/OpenAi/wire.js") = await import(`${src}/OpenAi/wire.ts`)
const Shape: typeof import("../packages/providers/src/OpenAi/shape.js") = await import(`${src}/OpenAi/shape.ts`)
const Internal: typeof import("../packages/providers/src/internal/index.js") = await import(`${src}/internal/index.ts`)
const { HttpClientRequest, Headers } = await import("@effect/platform")

const part = process.argv[2] ?? "all"
const perBlock = Number(process.argv[3] ?? "20000")
const blocks = Number(process.argv[4] ?? "7")
const counter = () => (globalThis as unknown as { __mg?: { ops: number } }).__mg?.ops ?? 0

const run = (label: string, once: () => unknown) => {
  for (let i = 0; i < perBlock; i++) once()
  const cpu: Array<number> = []
  const o0 = counter()
  for (let b = 0; b < blocks; b++) {
    const start = process.cpuUsage()
    for (let i = 0; i < perBlock; i++) once()
    const used = process.cpuUsage(start)
    cpu.push((used.user + used.system) / perBlock)
  }
  const ops = (counter() - o0) / (perBlock * blocks)
  cpu.sort((a, b) => a - b)
  console.log(`${label.padEnd(10)} cpu best ${cpu[0]!.toFixed(2)} us, median ${cpu[Math.floor(blocks / 2)]!.toFixed(2)} us; ops ${ops.toFixed(1)} per call`)
}

const request: ChatRequest = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }], stream: true }
const config = ProviderConfig.make({ baseUrl: "http://127.0.0.1:19001/v1" })

// OpenAi.ts's `chatRequest` (a baseline without it: the builder it replaced).
const OpenAi: typeof import("../packages/providers/src/OpenAi.js") = await import(`${src}/OpenAi.ts`)
const ctx = { request, model: { providerModel: "gpt-4o-mini", capabilities: ["chat"] }, key: { id: "openai#0", value: Redacted.make("k") } } as unknown as CallContext
const buildRequest: () => unknown = "chatRequest" in OpenAi
  ? () => OpenAi.chatRequest(ctx, ctx.key!, true)(config)
  : () =>
    HttpClientRequest.post(`${Internal.trimBase(config.baseUrl)}/chat/completions`).pipe(
      HttpClientRequest.setHeader("accept", "text/event-stream"),
      HttpClientRequest.bodyUnsafeJson(Wire.requestBody(request, "gpt-4o-mini", true)),
      HttpClientRequest.bearerToken("k")
    )

const headers = Headers.fromInput({
  "content-type": "application/json",
  "content-length": "300",
  "x-request-id": "req_bench",
  date: "Thu, 26 Nov 2026 10:00:00 GMT",
  connection: "keep-alive",
  "keep-alive": "timeout=5"
})

const completion = completionText
const streamBody = new TextEncoder().encode(streamText)

const info = { model: "openai/gpt-4o-mini", keyId: "openai#0", secrets: ["k"] }

if (part === "request" || part === "all") {
  run("request", buildRequest)
}
if (part === "headers" || part === "all") {
  run("headers", () => [Errors.requestId(headers), Errors.rateLimitInfo(headers)])
}
if (part === "json" || part === "all") {
  run("json", () => {
    const wire = Shape.plainResponse(Internal.parseEventJson(completion))!
    return Wire.normaliseResponse(wire, () => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }))
  })
}
if (part === "stream" || part === "all") {
  // The adapter's pull over a body pull that gives the whole body in one batch, drained synchronously.
  const once = () => {
    let given = false
    const body = {
      pull: Effect.suspend(() => {
        if (given) return Effect.fail(Option.none())
        given = true
        return Effect.succeed(Chunk.of(streamBody))
      }),
      close: Effect.void
    }
    const response = { status: 200, headers, requestId: "req_bench", rateLimit: undefined, open: () => body, body: undefined as never }
    const pull = Stream.pullStream("openai", info, request, response, "gpt-4o-mini")
    let n = 0
    for (;;) {
      const exit = Effect.runSyncExit(pull.pull)
      if (exit._tag === "Failure") break
      n += exit.value.length
    }
    if (n !== 8) throw new Error(`expected 8 chunks, got ${n}`)
    return n
  }
  run("stream", once)
}
