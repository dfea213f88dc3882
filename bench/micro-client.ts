/**
 * Micro benchmark of the HTTP clients under the adapters: a raw undici Pool,
 * `@effect/platform`'s HttpClient over undici (tracer on, tracer off, no
 * trace propagation), each posting the same chat request to the bench
 * upstream and reading the body; sequential calls, CPU per call.
 *
 *   node --import tsx bench/upstream.ts 19001 &
 *   node --import tsx bench/micro-client.ts [port]
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, ManagedRuntime } from "effect"
import { Pool } from "undici"

const port = process.argv[2] ?? "19001"
const origin = `http://127.0.0.1:${port}`
const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] }
const calls = 3000

const time = async (label: string, f: () => Promise<unknown>) => {
  for (let i = 0; i < 300; i++) await f()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < calls; i++) await f()
  const c1 = process.cpuUsage(c0)
  const t1 = performance.now()
  console.log(`${label}: ${((t1 - t0) / calls * 1000).toFixed(1)} us/req wall, ${((c1.user + c1.system) / calls).toFixed(1)} us/req cpu`)
}

const pool = new Pool(origin)
await time("undici pool", async () => {
  const r = await pool.request({
    method: "POST",
    path: "/v1/chat/completions",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  JSON.parse(await r.body.text())
})

const runtime = ManagedRuntime.make(NodeHttpClient.layerUndici)
const client = await runtime.runPromise(HttpClient.HttpClient)
const post = (c: HttpClient.HttpClient) =>
  c.execute(HttpClientRequest.post(`${origin}/v1/chat/completions`).pipe(HttpClientRequest.bodyUnsafeJson(body))).pipe(
    Effect.flatMap((r) => r.text),
    Effect.scoped
  )
await time("effect HttpClient (undici)", () => Effect.runPromise(post(client)))
await time("effect HttpClient, tracer off", () => Effect.runPromise(post(client).pipe(Effect.withTracerEnabled(false))))
await time("effect HttpClient, no propagation", () => Effect.runPromise(post(client.pipe(HttpClient.withTracerPropagation(false)))))
await pool.close()
await runtime.dispose()
