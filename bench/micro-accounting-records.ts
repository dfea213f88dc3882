/**
 * Micro benchmark of building the request path's records: a CostRecord and a
 * PerformanceRecord per request, with the Schema class constructor
 * (validation off) and with `uncheckedRecord` (Gateway/Accounting.ts), CPU
 * per pair (best of blocks).
 *
 *   node --import tsx bench/micro-accounting-records.ts
 *
 * Runs on the packages' `dist`: build first (`npx tsc -b`).
 */
import { uncheckedRecord } from "@modelgate/core/Gateway/Accounting"
import { CostRecord, PerformanceRecord } from "@modelgate/domain/Records"

const n = 100_000
let sink = 0
const cost = (i: number) => ({
  at: i,
  requestId: `mg-${i}`,
  model: "gpt-4o-mini",
  provider: "openai",
  apiKeyId: "k1",
  agentType: undefined,
  taskType: undefined,
  promptTokens: 3,
  completionTokens: 3,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  costPicoUsd: 2_250_000,
  cacheHit: false
})
const performance = (i: number) => ({
  at: i,
  requestId: `mg-${i}`,
  model: "gpt-4o-mini",
  provider: "openai",
  latencyMs: 1,
  timeToFirstTokenMs: undefined,
  streamed: false,
  agentType: undefined,
  success: true,
  outputTokens: 3,
  cacheHit: false
})
const variants: Record<string, (i: number) => void> = {
  "new X(props, true)": (i) => {
    sink += new CostRecord(cost(i), true).at + new PerformanceRecord(performance(i), true).at
  },
  uncheckedRecord: (i) => {
    sink += uncheckedRecord(CostRecord, cost(i)).at + uncheckedRecord(PerformanceRecord, performance(i)).at
  }
}
const best = new Map<string, number>()
for (let round = 0; round < 6; round++) {
  for (const [name, f] of Object.entries(variants)) {
    const c0 = process.cpuUsage()
    for (let i = 0; i < n; i++) f(i)
    const c = process.cpuUsage(c0)
    best.set(name, Math.min(best.get(name) ?? Number.POSITIVE_INFINITY, ((c.user + c.system) / n) * 1000))
  }
}
for (const [name, ns] of best) console.log(`${name.padEnd(20)} ${ns.toFixed(0)} ns per request (cost + performance record)`)
if (sink === 0) console.log("")
