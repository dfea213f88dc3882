/**
 * Micro benchmark of the OpenAI adapter over a chosen HTTP client layer
 * (issue 6): `chat` (json) or a pulled `stream` (pull) against the bench
 * upstream, sequential calls, tracer off. Same timing loop as
 * micro-provider-openai.ts (bench/measure.ts).
 *
 *   node --import tsx bench/upstream.ts 19001 &
 *   node --import tsx bench/micro-client-provider.ts json|pull [port] [client] [calls per block] [blocks]
 *
 * client: `platform` (NodeHttpClient.layerUndici, GatewayLive's before issue
 * 6's client work) or `live` (packages/node/src/HttpClientLive.ts, GatewayLive's).
 * MG_OPENAI_SRC: another copy of the providers' src (an A/B baseline).
 */
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { measure } from "./measure.js"
import { loadOpenAi, openAiAdapter, pulled } from "./openai-adapter.js"

process.setSourceMapsEnabled(false)
const OpenAi = await loadOpenAi()
const mode = process.argv[2] === "pull" ? "pull" : "json"
const port = process.argv[3] ?? "19001"
const client = process.argv[4] ?? "live"
const perBlock = Number(process.argv[5] ?? "500")
const blocks = Number(process.argv[6] ?? "15")

const layer: Layer.Layer<HttpClient.HttpClient> = client === "platform"
  ? NodeHttpClient.layerUndici
  : Layer.orDie((await import("../packages/node/src/HttpClientLive.js")).layer)

const program = Effect.gen(function*() {
  const { ctx, provider } = yield* openAiAdapter(OpenAi, port, mode !== "json")
  const once: Effect.Effect<unknown, unknown> = mode === "pull"
    ? Effect.flatMap(provider.stream(ctx), (result) => pulled(result.chunks))
    : provider.chat(ctx)
  if (mode === "pull" && (yield* once) !== 8) throw new Error("expected 8 chunks (7 + usage)")
  console.log(yield* measure(`openai ${mode.padEnd(4)} ${client.padEnd(8)}`, once, perBlock, { blocks }))
})

await Effect.runPromise(Effect.scoped(program).pipe(Effect.withTracerEnabled(false), Effect.provide(layer)))
// The adapter's watchdog sleeps out its timeout otherwise.
process.exit(0)
