/**
 * Micro benchmark of the OpenAI adapter alone: `chat` against the bench
 * upstream over `NodeHttpClient.layerUndici`, sequential calls; prints wall
 * and CPU time per call (this process only, not the upstream's).
 *
 *   node --import tsx bench/upstream.ts 19001 &
 *   node --import tsx bench/micro-adapter.ts [port]
 *
 * Runs on the packages' `dist`: build first (`npx tsc -b`).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { ModelMetadata } from "@modelgate/domain/Model"
import * as OpenAi from "@modelgate/providers/OpenAi"
import { Effect, Redacted, Schema } from "effect"
import * as fs from "node:fs"

const port = process.argv[2] ?? "19001"
const model = Schema.decodeUnknownSync(ModelMetadata)(JSON.parse(fs.readFileSync("bench/config/models.json", "utf8")).models[0])
const calls = 3000

const program = Effect.gen(function*() {
  const provider = yield* OpenAi.make(Effect.succeed(ProviderConfig.make({ baseUrl: `http://127.0.0.1:${port}/v1` })))
  const ctx = {
    request: { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Say hello." }] },
    model,
    key: { id: "openai#0", value: Redacted.make("k") }
  }
  for (let i = 0; i < 300; i++) yield* provider.chat(ctx)
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  for (let i = 0; i < calls; i++) yield* provider.chat(ctx)
  const t1 = performance.now()
  const c1 = process.cpuUsage(c0)
  console.log(`adapter: ${((t1 - t0) / calls * 1000).toFixed(1)} us/req wall, ${((c1.user + c1.system) / calls).toFixed(1)} us/req cpu`)
})

await Effect.runPromise(program.pipe(Effect.provide(NodeHttpClient.layerUndici)))
