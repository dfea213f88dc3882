/**
 * Where the Effect ops of a call go (the `*-trace` micro benchmarks): a warm-up,
 * then a run under op supervision, printed as ops per call and a histogram
 * keyed by op code and the source of the op's function. A diagnostic, not a
 * timing: op supervision slows every op down.
 */
import { Effect, RuntimeFlags, RuntimeFlagsPatch, Supervisor } from "effect"

/** Counts every op it supervises by op code and the first `width` characters of its function's source. */
class OpHistogram extends Supervisor.AbstractSupervisor<void> {
  readonly counts = new Map<string, number>()
  total = 0
  constructor(readonly width: number) {
    super()
  }
  get value() {
    return Effect.void
  }
  override onEffect(_fiber: unknown, effect: unknown): void {
    const e = effect as Record<string, unknown>
    const fn = [e.effect_instruction_i1, e.effect_instruction_i0, e.effect_instruction_i2].find((x) => typeof x === "function")
    const what = typeof fn === "function" ? fn.toString().replace(/\s+/g, " ").slice(0, this.width) : String(e._op)
    const key = `${String(e._op)} ${what}`
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
    this.total++
  }
}

/**
 * Run `call` `warmup` times, then `calls` times under op supervision; print
 * `<label>: <n> supervised ops/call` and the `top` most frequent ops per call.
 */
export const traceOps = (
  label: string,
  call: Effect.Effect<unknown, unknown>,
  { calls = 100, top = 60, warmup = 200, width = 110 }: {
    readonly calls?: number
    readonly top?: number
    readonly warmup?: number
    readonly width?: number
  } = {}
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    for (let i = 0; i < warmup; i++) yield* call
    const sup = new OpHistogram(width)
    yield* Effect.gen(function*() {
      for (let i = 0; i < calls; i++) yield* call
    }).pipe(Effect.supervised(sup), Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision)))
    console.log(`${label}: ${(sup.total / calls).toFixed(1)} supervised ops/call`)
    for (const [k, c] of [...sup.counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(c / calls).toFixed(2).padStart(7)}  ${k}`)
    }
  })
