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
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Layer, RuntimeFlags, RuntimeFlagsPatch, Schema, Stream, Supervisor, Redacted } from "effect"
import * as fs from "node:fs"
import * as OpenAi from "../packages/providers/src/OpenAi.js"

const mode = process.argv[2] === "pull" ? "pull" : "json"
const port = process.argv[3] ?? "19001"
const client = process.argv[4] ?? "platform"
const top = Number(process.argv[5] ?? 60)
const calls = 100
const model = Schema.decodeUnknownSync(ModelMetadata)(JSON.parse(fs.readFileSync("bench/config/models.json", "utf8")).models[0])

class OpHistogram extends Supervisor.AbstractSupervisor<void> {
  readonly counts = new Map<string, number>()
  total = 0
  get value() {
    return Effect.void
  }
  override onEffect(_fiber: unknown, effect: unknown): void {
    const e = effect as Record<string, unknown>
    const fn = [e.effect_instruction_i1, e.effect_instruction_i0, e.effect_instruction_i2].find((x) => typeof x === "function")
    const what = typeof fn === "function" ? fn.toString().replace(/\s+/g, " ").slice(0, 110) : String(e._op)
    const key = `${String(e._op)} ${what}`
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
    this.total++
  }
}

const program = Effect.gen(function*() {
  const provider = yield* OpenAi.make(Effect.succeed(ProviderConfig.make({ baseUrl: `http://127.0.0.1:${port}/v1` })))
  const ctx = {
    request: { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Say hello." }], stream: mode !== "json" },
    model,
    key: { id: "openai#0", value: Redacted.make("k") }
  }
  const call: Effect.Effect<unknown, unknown> = mode === "pull"
    ? Effect.flatMap(provider.stream(ctx), (r) => Effect.scoped(Effect.flatMap(Stream.toPull(r.chunks), (pull) => Effect.ignore(Effect.forever(pull)))))
    : provider.chat(ctx)
  for (let i = 0; i < 200; i++) yield* call
  const sup = new OpHistogram()
  yield* Effect.gen(function*() {
    for (let i = 0; i < calls; i++) yield* call
  }).pipe(Effect.supervised(sup), Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision)))
  console.log(`${mode} (${client}): ${(sup.total / calls).toFixed(1)} supervised ops/call`)
  for (const [k, c] of [...sup.counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(c / calls).toFixed(2).padStart(7)}  ${k}`)
  }
})

const layer: Layer.Layer<import("@effect/platform").HttpClient.HttpClient> = client === "live"
  ? (await import("../packages/node/src/HttpClientLive.js")).layer
  : NodeHttpClient.layerUndici
await Effect.runPromise(program.pipe(Effect.provide(layer), Effect.withTracerEnabled(false)))
process.exit(0)
