/**
 * Where the Effect ops of one OpenAI adapter call go (issue 6): runs
 * `chat` (json) or a drained `stream` (pull) against the bench upstream over
 * the given HTTP client layer, then repeats it under op supervision and
 * prints a histogram of the ops run, keyed by op code and the source of its
 * function.
 *
 *   node --import tsx bench/upstream.ts 19001 &
 *   node --import tsx bench/micro-client-trace.ts json|pull [port] [platform|live] [top]
 *
 * A diagnostic, not a timing: op supervision slows every op down.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Stream } from "effect"
import * as OpenAi from "../packages/providers/src/OpenAi.js"
import { openAiAdapter } from "./openai-adapter.js"
import { traceOps } from "./op-histogram.js"

const mode = process.argv[2] === "pull" ? "pull" : "json"
const port = process.argv[3] ?? "19001"
const client = process.argv[4] ?? "platform"
const top = Number(process.argv[5] ?? 60)

const program = Effect.gen(function*() {
  const { ctx, provider } = yield* openAiAdapter(OpenAi, port, mode !== "json")
  const call: Effect.Effect<unknown, unknown> = mode === "pull"
    ? Effect.flatMap(provider.stream(ctx), (r) => Effect.scoped(Effect.flatMap(Stream.toPull(r.chunks), (pull) => Effect.ignore(Effect.forever(pull)))))
    : provider.chat(ctx)
  yield* traceOps(`${mode} (${client})`, call, { top })
})

const layer: Layer.Layer<import("@effect/platform").HttpClient.HttpClient> = client === "live"
  ? Layer.orDie((await import("../packages/node/src/HttpClientLive.js")).layer)
  : NodeHttpClient.layerUndici
await Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(layer), Effect.withTracerEnabled(false)))
process.exit(0)
