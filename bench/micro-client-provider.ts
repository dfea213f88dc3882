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
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Channel, Chunk, Effect, Either, type Layer, Redacted, Schema, Scope, Stream } from "effect"
import * as fs from "node:fs"
import { measure } from "./measure.js"

process.setSourceMapsEnabled(false)
const OpenAi: typeof import("../packages/providers/src/OpenAi.js") = await import(
  `${process.env["MG_OPENAI_SRC"] ?? "../packages/providers/src"}/OpenAi.ts`
)
const mode = process.argv[2] === "pull" ? "pull" : "json"
const port = process.argv[3] ?? "19001"
const client = process.argv[4] ?? "live"
const perBlock = Number(process.argv[5] ?? "500")
const blocks = Number(process.argv[6] ?? "15")
const model = Schema.decodeUnknownSync(ModelMetadata)(JSON.parse(fs.readFileSync("bench/config/models.json", "utf8")).models[0])

const layer: Layer.Layer<HttpClient.HttpClient> = client === "platform"
  ? NodeHttpClient.layerUndici
  : (await import("../packages/node/src/HttpClientLive.js")).layer

const program = Effect.gen(function*() {
  const provider = yield* OpenAi.make(Effect.succeed(ProviderConfig.make({ baseUrl: `http://127.0.0.1:${port}/v1` })))
  const ctx = {
    request: { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Say hello." }], stream: mode !== "json" },
    model,
    key: { id: "openai#0", value: Redacted.make("k") }
  }
  // Pulled in the caller's fiber as the gateway's SSE writer does.
  const pulled = (chunks: Stream.Stream<unknown, unknown>) =>
    Effect.flatMap(Scope.make(), (scope) => {
      let n = 0
      const step = (pull: Effect.Effect<Either.Either<Chunk.Chunk<unknown>, unknown>, unknown>): Effect.Effect<number, unknown> =>
        Effect.flatMap(pull, (next) => {
          if (Either.isLeft(next)) return Effect.succeed(n)
          n += Chunk.size(next.right)
          return step(pull)
        })
      return Effect.flatMap(Channel.toPullIn(Stream.toChannel(chunks), scope), step).pipe(
        Effect.onExit((exit) => Scope.close(scope, exit))
      )
    })
  const once: Effect.Effect<unknown, unknown> = mode === "pull"
    ? Effect.flatMap(provider.stream(ctx), (result) => pulled(result.chunks))
    : provider.chat(ctx)
  if (mode === "pull" && (yield* once) !== 8) throw new Error("expected 8 chunks (7 + usage)")
  console.log(yield* measure(`openai ${mode.padEnd(4)} ${client.padEnd(8)}`, once, perBlock, { blocks }))
})

await Effect.runPromise(program.pipe(Effect.withTracerEnabled(false), Effect.provide(layer)))
// The adapter's watchdog sleeps out its timeout otherwise.
process.exit(0)
