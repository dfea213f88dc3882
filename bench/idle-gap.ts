/**
 * What an idle pause before a request costs: sequential json chat requests on
 * one keep-alive connection to `url` (the gateway, the pass-through or the
 * upstream of `npm run bench`, started by hand), back to back and then each
 * after `gapMs` of the client sleeping; prints the p50 of each, in us.
 *
 *   node --import tsx bench/idle-gap.ts http://127.0.0.1:8787 [requests=300] [gapMs=20]
 */
import { performance } from "node:perf_hooks"
import { Pool } from "undici"

const url = process.argv[2]
if (url === undefined) throw new Error("usage: idle-gap.ts URL [requests] [gapMs]")
const requests = Number(process.argv[3] ?? 300)
const gapMs = Number(process.argv[4] ?? 20)
const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] })

/** The p50 of `requests` sequential requests, each after `gap` ms of sleep. */
const p50 = async (pool: Pool, gap: number) => {
  const times: Array<number> = []
  for (let i = 0; i < requests; i++) {
    if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap))
    const t0 = performance.now()
    const res = await pool.request({ path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json" }, body })
    await res.body.text()
    times.push((performance.now() - t0) * 1000)
  }
  return times.sort((a, b) => a - b)[Math.floor(requests / 2)]!
}

const pool = new Pool(url, { connections: 1 })
await p50(pool, 0) // warm-up
for (const gap of [0, gapMs, 0, gapMs]) console.log(`gap ${gap} ms: p50 ${(await p50(pool, gap)).toFixed(0)} us`)
await pool.close()
