/**
 * The timing loops of the micro benchmarks. `measure` (the adapter ones,
 * `micro-provider-openai.ts`, `micro-provider-streams.ts`): warm-up, then
 * blocks of sequential calls; per call, CPU time (best and median of the
 * blocks) and Effect ops and fibers (the patched runtime's `globalThis.__mg`
 * counter, see `node bench/effect-counters.mjs`; 0 when it is not in place).
 * `concurrently` (the `*-concurrent.ts` ones): many fibers calling back to
 * back for a while; calls per second and CPU per call.
 */
import { Effect } from "effect"

interface Counter {
  fibers: number
  ops: number
}
const counter = (): Counter => (globalThis as unknown as { __mg?: Counter }).__mg ?? { fibers: 0, ops: 0 }

/** Run `once` `warmup` times, then `blocks` blocks of `perBlock` calls; the result line, `label` first. */
export const measure = (
  label: string,
  once: Effect.Effect<unknown, unknown>,
  perBlock: number,
  { blocks = 5, warmup = 1500 }: { readonly blocks?: number; readonly warmup?: number } = {}
): Effect.Effect<string, unknown> =>
  Effect.gen(function*() {
    for (let i = 0; i < warmup; i++) yield* once
    const cpu: Array<number> = []
    const c0 = { ...counter() }
    for (let b = 0; b < blocks; b++) {
      const start = process.cpuUsage()
      for (let i = 0; i < perBlock; i++) yield* once
      const used = process.cpuUsage(start)
      cpu.push((used.user + used.system) / perBlock)
    }
    const c1 = counter()
    const n = blocks * perBlock
    cpu.sort((a, b) => a - b)
    return `${label} cpu best ${cpu[0]!.toFixed(1)} us, median ${cpu[Math.floor(blocks / 2)]!.toFixed(1)} us;` +
      ` ops ${((c1.ops - c0.ops) / n).toFixed(1)}, fibers ${((c1.fibers - c0.fibers) / n).toFixed(2)} per call`
  })

/** Calls made, and CPU per call of this process (all its threads), under `concurrency`. */
export interface ConcurrentRun {
  readonly calls: number
  readonly callsPerSecond: number
  readonly cpuUsPerCall: number
}

/**
 * `concurrency` fibers each running `once` back to back for `ms` of real
 * time: calls made and CPU per call (the micro benchmarks measured under load,
 * where sequential calls would measure waking from idle too).
 */
export const concurrently = (
  concurrency: number,
  ms: number,
  once: Effect.Effect<unknown, unknown>
): Effect.Effect<ConcurrentRun, unknown> =>
  Effect.suspend(() => {
    let calls = 0
    const end = performance.now() + ms
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const loop: Effect.Effect<void, unknown> = Effect.suspend(() =>
      performance.now() < end ? Effect.flatMap(once, () => { calls++; return loop }) : Effect.void
    )
    return Effect.map(
      Effect.all(Array.from({ length: concurrency }, () => loop), { concurrency: "unbounded", discard: true }),
      () => {
        const c = process.cpuUsage(c0)
        return {
          calls,
          callsPerSecond: calls / ((performance.now() - t0) / 1000),
          cpuUsPerCall: (c.user + c.system) / calls
        }
      }
    )
  })

/** One line of a `ConcurrentRun`: label, calls/s, CPU per call. */
export const concurrentLine = (label: string, run: ConcurrentRun): string =>
  `${label.padEnd(18)} ${run.callsPerSecond.toFixed(0).padStart(7)} calls/s  ${run.cpuUsPerCall.toFixed(1)} us cpu/call`
