/**
 * Micro benchmark of the OpenAI adapter (issue 6): `chat` (json) or `stream`
 * (7 SSE events + `[DONE]`, drained) against the bench upstream over
 * `NodeHttpClient.layerUndici`, sequential calls, Effect's tracer off as in
 * `modelgate serve`. Prints per call: CPU time (best and median of blocks) and
 * Effect ops and fibers (the patched runtime's `globalThis.__mg` counter).
 *
 *   node --import tsx bench/upstream.ts 19001 &
 *   node --import tsx bench/micro-provider-openai.ts json|stream [port] [calls per block]
 *
 * Runs the adapter from `packages/providers/src` (so no build of providers is
 * needed); its dependencies come from their `dist`.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Channel, Chunk, Effect, Either, Redacted, Schema, Scope, Stream } from "effect"
import * as fs from "node:fs"
import { measure } from "./measure.js"

process.setSourceMapsEnabled(false)
// MG_OPENAI_SRC: another copy of the providers' src (an A/B baseline).
const OpenAi: typeof import("../packages/providers/src/OpenAi.js") = await import(
  `${process.env["MG_OPENAI_SRC"] ?? "../packages/providers/src"}/OpenAi.ts`
)
// stream: drained with Stream.runCollect; pull: pulled in the caller's fiber as the gateway's SSE writer does.
const mode = process.argv[2] === "stream" ? "stream" : process.argv[2] === "pull" ? "pull" : "json"
const port = process.argv[3] ?? "19001"
const perBlock = Number(process.argv[4] ?? "1000")
const model = Schema.decodeUnknownSync(ModelMetadata)(JSON.parse(fs.readFileSync("bench/config/models.json", "utf8")).models[0])

const program = Effect.gen(function*() {
  const provider = yield* OpenAi.make(Effect.succeed(ProviderConfig.make({ baseUrl: `http://127.0.0.1:${port}/v1` })))
  const ctx = {
    request: { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Say hello." }], stream: mode !== "json" },
    model,
    key: { id: "openai#0", value: Redacted.make("k") }
  }
  const pulled = (chunks: Stream.Stream<unknown, unknown>) =>
    Effect.flatMap(Scope.make(), (scope) => {
      let n = 0
      const step = (pull: Effect.Effect<Either.Either<Chunk.Chunk<unknown>, unknown>, unknown>): Effect.Effect<Chunk.Chunk<unknown>, unknown> =>
        Effect.flatMap(pull, (next) => {
          if (Either.isLeft(next)) return Effect.succeed(Chunk.makeBy(n, (i) => i))
          n += Chunk.size(next.right)
          return step(pull)
        })
      return Effect.flatMap(Channel.toPullIn(Stream.toChannel(chunks), scope), step).pipe(
        Effect.onExit((exit) => Scope.close(scope, exit))
      )
    })
  const once: Effect.Effect<unknown, unknown> = mode === "stream"
    ? Effect.flatMap(provider.stream(ctx), (result) => Stream.runCollect(result.chunks))
    : mode === "pull"
    ? Effect.flatMap(provider.stream(ctx), (result) => pulled(result.chunks))
    : provider.chat(ctx)
  if (mode !== "json") {
    const first = (yield* once) as Chunk.Chunk<unknown>
    if (Chunk.size(first) !== 8) throw new Error(`expected 8 chunks (7 + usage), got ${Chunk.size(first)}`)
  }
  console.log(yield* measure(`openai ${mode.padEnd(6)}`, once, perBlock))
  if (process.argv.includes("--stacks")) {
    const stacks = (globalThis as unknown as { __mg?: { stacks: Map<string, number> } }).__mg?.stacks ?? new Map()
    for (const [stack, n] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(n, stack)
  }
})

await Effect.runPromise(program.pipe(Effect.withTracerEnabled(false), Effect.provide(NodeHttpClient.layerUndici)))
