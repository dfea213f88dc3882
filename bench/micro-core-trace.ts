/**
 * Where the Effect ops of one core request go: runs `Gateway.complete` (or a
 * drained `Gateway.stream`) on GatewayLive with provider doubles (as in
 * micro-core-ops.ts), then repeats it under op supervision and prints a
 * histogram of the ops run, keyed by op code and the source of its function.
 *
 *   node --import tsx bench/micro-core-trace.ts [complete|stream] [top]
 *
 * A diagnostic, not a timing: op supervision slows every op down.
 */
import { Gateway } from "@modelgate/core/Gateway"
import { Effect, RuntimeFlags, RuntimeFlagsPatch, Stream, Supervisor } from "effect"
import { layer, request, requirements } from "./micro-core-setup.js"

const mode = process.argv[2] ?? "complete"
const top = Number(process.argv[3] ?? 60)
const calls = 100

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
  const gw = yield* Gateway
  const call = mode === "stream"
    ? Effect.flatMap(gw.stream(request, requirements), (answer) =>
      Effect.scoped(Effect.flatMap(Stream.toPull(answer.chunks), (pull) => Effect.ignore(Effect.forever(pull)))))
    : gw.complete(request, requirements)
  for (let i = 0; i < 200; i++) yield* call
  const sup = new OpHistogram()
  yield* Effect.gen(function*() {
    for (let i = 0; i < calls; i++) yield* call
  }).pipe(Effect.supervised(sup), Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision)))
  console.log(`${mode}: ${(sup.total / calls).toFixed(1)} supervised ops/call`)
  for (const [k, c] of [...sup.counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(c / calls).toFixed(2).padStart(7)}  ${k}`)
  }
})

await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer), Effect.withTracerEnabled(false))))
