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
import { Chunk, Effect, Stream } from "effect"
import { measure } from "./measure.js"
import { loadOpenAi, openAiAdapter, pulled } from "./openai-adapter.js"

process.setSourceMapsEnabled(false)
// MG_OPENAI_SRC: another copy of the providers' src (an A/B baseline).
const OpenAi = await loadOpenAi()
// stream: drained with Stream.runCollect; pull: pulled in the caller's fiber as the gateway's SSE writer does.
const mode = process.argv[2] === "stream" ? "stream" : process.argv[2] === "pull" ? "pull" : "json"
const port = process.argv[3] ?? "19001"
const perBlock = Number(process.argv[4] ?? "1000")

const program = Effect.gen(function*() {
  const { ctx, provider } = yield* openAiAdapter(OpenAi, port, mode !== "json")
  const collected = Effect.flatMap(provider.stream(ctx), (result) => Stream.runCollect(result.chunks))
  const pulledOnce = Effect.flatMap(provider.stream(ctx), (result) => pulled(result.chunks))
  const once: Effect.Effect<unknown, unknown> = mode === "stream" ? collected : mode === "pull" ? pulledOnce : provider.chat(ctx)
  if (mode !== "json") {
    const first = mode === "stream" ? Chunk.size(yield* collected) : yield* pulledOnce
    if (first !== 8) throw new Error(`expected 8 chunks (7 + usage), got ${first}`)
  }
  console.log(yield* measure(`openai ${mode.padEnd(6)}`, once, perBlock))
  if (process.argv.includes("--stacks")) {
    const stacks = (globalThis as unknown as { __mg?: { stacks: Map<string, number> } }).__mg?.stacks ?? new Map()
    for (const [stack, n] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(n, stack)
  }
})

await Effect.runPromise(Effect.scoped(program).pipe(Effect.withTracerEnabled(false), Effect.provide(NodeHttpClient.layerUndici)))
