/**
 * Micro benchmark of the OpenAI adapter's streaming path alone: `stream`
 * against the bench upstream (7 SSE events + `[DONE]`) over
 * `NodeHttpClient.layerUndici`, each stream drained to its end, sequential
 * calls; prints wall and CPU time per call (this process only).
 *
 *   node --import tsx bench/upstream.ts 19001 &
 *   node --import tsx bench/micro-adapter-stream.ts [port] [calls]
 *
 * Runs on the packages' `dist`: build first (`npx tsc -b`).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { ModelMetadata } from "@modelgate/domain/Model"
import * as OpenAi from "@modelgate/providers/OpenAi"
import { Chunk, Effect, Redacted, Schema, Stream } from "effect"
import * as fs from "node:fs"

// tsx turns source maps on; the gateway runs plain `node` on dist, where an
// Error's stack (undici builds one when a body is closed early) is cheap.
process.setSourceMapsEnabled(false)
const port = process.argv[2] ?? "19001"
const calls = Number(process.argv[3] ?? "3000")
const model = Schema.decodeUnknownSync(ModelMetadata)(JSON.parse(fs.readFileSync("bench/config/models.json", "utf8")).models[0])

const program = Effect.gen(function*() {
  const provider = yield* OpenAi.make(Effect.succeed(ProviderConfig.make({ baseUrl: `http://127.0.0.1:${port}/v1` })))
  const ctx = {
    request: { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Say hello." }], stream: true },
    model,
    key: { id: "openai#0", value: Redacted.make("k") }
  }
  const once = Effect.flatMap(provider.stream(ctx), (result) => Stream.runCollect(result.chunks))
  const first = yield* once
  if (Chunk.size(first) !== 8) throw new Error(`expected 8 chunks (7 + usage), got ${Chunk.size(first)}`)
  for (let i = 0; i < 500; i++) yield* once
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  for (let i = 0; i < calls; i++) yield* once
  const t1 = performance.now()
  const c1 = process.cpuUsage(c0)
  console.log(`adapter stream: ${((t1 - t0) / calls * 1000).toFixed(1)} us/req wall, ${((c1.user + c1.system) / calls).toFixed(1)} us/req cpu`)
})

await Effect.runPromise(program.pipe(Effect.provide(NodeHttpClient.layerUndici)))
