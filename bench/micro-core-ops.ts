/**
 * Micro benchmark of the core request path, complete and streaming, with the
 * Effect op / fiber counters of the patched runtime (`globalThis.__mg`, see
 * `node bench/effect-counters.mjs`; zeros when the runtime is not patched), CPU
 * per call (best and median of blocks after a warm-up): GatewayLive on
 * bench/config with a provider double (micro-core-setup.ts), tracer off.
 * The stream double emits 4 chunks (the last with usage); each stream is
 * drained as the HTTP layer does: through `StreamAnswer.open` when offered.
 *
 *   node --import tsx bench/micro-core-ops.ts [complete|stream|both] [blocks]
 *
 * Runs on the packages' `dist`: build first (`npx tsc -b`).
 */
import { Gateway, type StreamAnswer } from "@modelgate/core/Gateway"
import { Effect, Exit, Stream } from "effect"
import { layer, request, requirements } from "./micro-core-setup.js"

const mode = process.argv[2] ?? "both"
const blocks = Number(process.argv[3] ?? 5)
const warmup = 3000
const block = 1000

interface Counters {
  fibers: number
  ops: number
  stacks: Map<string, number>
}
const counters = (): Counters => (globalThis as unknown as { __mg?: Counters }).__mg ?? { fibers: 0, ops: 0, stacks: new Map() }

const measure = (name: string, call: Effect.Effect<unknown, unknown, Gateway>) =>
  Effect.gen(function*() {
    for (let i = 0; i < warmup; i++) yield* call
    const g = counters()
    g.stacks.clear()
    const f0 = g.fibers
    const o0 = g.ops
    for (let i = 0; i < block; i++) yield* call
    const fibers = (counters().fibers - f0) / block
    const ops = (counters().ops - o0) / block
    const cpu: Array<number> = []
    for (let b = 0; b < blocks; b++) {
      const c0 = process.cpuUsage()
      for (let i = 0; i < block; i++) yield* call
      const c1 = process.cpuUsage(c0)
      cpu.push((c1.user + c1.system) / block)
    }
    const sorted = [...cpu].sort((a, b) => a - b)
    console.log(
      `${name}: ops/call ${ops.toFixed(1)}, fibers/call ${fibers.toFixed(2)}, cpu best ${sorted[0]!.toFixed(1)} / median ${
        sorted[Math.floor(sorted.length / 2)]!.toFixed(1)
      } us/call`
    )
    if (process.env.STACKS) {
      for (const [s, c] of [...g.stacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${c}x ${s.slice(0, 500)}`)
    }
  })

const program = Effect.gen(function*() {
  const gw = yield* Gateway
  if (mode !== "stream") yield* measure("complete", gw.complete(request, requirements))
  if (mode !== "complete") {
    // Drained like the HTTP layer does: through `open` (one pull layer) when the answer offers it, else
    // pulled in the caller's fiber (`Stream.toPull`; `Stream.run*` forks a fiber).
    const drain = (chunks: Stream.Stream<unknown, unknown>) =>
      Effect.scoped(Effect.flatMap(Stream.toPull(chunks), (pull) => Effect.ignore(Effect.forever(pull))))
    const drainOpen = (open: NonNullable<StreamAnswer["open"]>) =>
      Effect.suspend(() => {
        const { close, pull } = open()
        return Effect.flatMap(Effect.exit(Effect.forever(pull)), () => close(Exit.void))
      })
    yield* measure(
      "stream",
      Effect.flatMap(gw.stream(request, requirements), (answer) => answer.open === undefined ? drain(answer.chunks) : drainOpen(answer.open))
    )
  }
})

await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer), Effect.withTracerEnabled(false))))
