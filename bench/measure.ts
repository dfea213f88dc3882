/**
 * The timing loop of the adapter micro benchmarks (`micro-provider-openai.ts`,
 * `micro-provider-streams.ts`): warm-up, then blocks of sequential calls; per
 * call, CPU time (best and median of the blocks) and Effect ops and fibers
 * (the patched runtime's `globalThis.__mg` counter, see
 * `node bench/effect-counters.mjs`; 0 when it is not in place).
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
