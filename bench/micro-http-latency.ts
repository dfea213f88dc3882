/**
 * Latency the HTTP layer adds at concurrency 1: sequential requests to the
 * gateway's HTTP app over the Gateway double (`micro-http-servers.ts gateway`,
 * a child process) and to the bare node:http server answering the same bytes
 * (`micro-http-servers.ts bare`), from one keep-alive undici client in this
 * process. Prints p50 / p90 of the full answer (json) and of the first body
 * byte and the end (stream), in us, and the gateway's difference to bare.
 * Runs alternate bare / gateway `rounds` times; the best p50 of each is kept.
 *
 *   node --import tsx bench/micro-http-latency.ts [requests=3000] [rounds=3]
 *
 * Build first (`npx tsc -b`): the app runs from its `dist`.
 */
import { performance } from "node:perf_hooks"
import { Pool } from "undici"
import { chatBody, startServer } from "./micro-http-servers.js"

const percentile = (xs: Array<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

/** `n` sequential requests; per request the time to the first body byte and to the end, in us. */
const measure = async (pool: Pool, stream: boolean, n: number) => {
  const first: Array<number> = []
  const end: Array<number> = []
  const payload = chatBody(stream)
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const res = await pool.request({ path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json" }, body: payload })
    let t1 = 0
    for await (const _ of res.body) if (t1 === 0) t1 = performance.now()
    const t2 = performance.now()
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`)
    first.push((t1 - t0) * 1000)
    end.push((t2 - t0) * 1000)
  }
  return { first, end }
}

const n = Number(process.argv[2] ?? 3000)
const rounds = Number(process.argv[3] ?? 3)
const best: Record<string, number> = {}
const keep = (key: string, value: number) => {
  best[key] = Math.min(best[key] ?? Infinity, value)
}
for (let round = 0; round < rounds; round++) {
  for (const role of ["bare", "gateway"]) {
    const { child, port } = await startServer(role)
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 })
    for (const stream of [false, true]) {
      await measure(pool, stream, Math.min(n, 1000))
      const { end, first } = await measure(pool, stream, n)
      const kind = stream ? "stream" : "json"
      keep(`${role} ${kind} first`, percentile(first, 0.5))
      keep(`${role} ${kind} end`, percentile(end, 0.5))
      process.stdout.write(
        `round ${round} ${role.padEnd(8)} ${kind.padEnd(7)} first byte p50 ${percentile(first, 0.5).toFixed(0).padStart(4)} p90 ${percentile(first, 0.9).toFixed(0).padStart(4)}  end p50 ${percentile(end, 0.5).toFixed(0).padStart(4)} p90 ${percentile(end, 0.9).toFixed(0).padStart(4)} us\n`
      )
    }
    await pool.close()
    child.kill("SIGINT")
    await new Promise((resolve) => child.once("exit", resolve))
  }
}
for (const kind of ["json", "stream"]) {
  for (const at of ["first", "end"]) {
    const g = best[`gateway ${kind} ${at}`]!
    const b = best[`bare ${kind} ${at}`]!
    process.stdout.write(`best p50 ${kind.padEnd(7)} ${at.padEnd(6)} gateway ${g.toFixed(0).padStart(4)}  bare ${b.toFixed(0).padStart(4)}  added ${(g - b).toFixed(0).padStart(4)} us\n`)
  }
}
