/**
 * The OpenAI adapter under concurrency (issue 6): `conc` fibers each calling
 * `chat` back to back against the bench upstream for `seconds`, CPU per call
 * of this process, next to raw undici (`Pool.request` + `JSON.parse`) under
 * the same concurrency. What the adapter and its HTTP client cost where the
 * gateway's c=64 load runs, without the idle wake-ups of sequential calls.
 *
 *   node --import tsx bench/upstream.ts 19001 &
 *   node --import tsx bench/micro-provider-concurrent.ts [port] [conc] [seconds] [raw|async|platform|adapter|adapter-platform|all]
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import { Agent } from "undici"
import { NodeHttpClient } from "@effect/platform-node"
import { Layer } from "effect"
import { layer as HttpClientLive } from "../packages/node/src/HttpClientLive.js"
import { loadOpenAi, openAiAdapter } from "./openai-adapter.js"

process.setSourceMapsEnabled(false)
const port = process.argv[2] ?? "19001"
const conc = Number(process.argv[3] ?? "64")
const seconds = Number(process.argv[4] ?? "4")
const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] })

const report = (label: string, calls: number, c0: NodeJS.CpuUsage, t0: number) => {
  const c = process.cpuUsage(c0)
  console.log(`${label.padEnd(16)} ${(calls / ((performance.now() - t0) / 1000)).toFixed(0).padStart(6)} calls/s  ${((c.user + c.system) / calls).toFixed(1)} us cpu/call`)
}

const raw = async (warm: boolean) => {
  const agent = new Agent()
  let calls = 0
  const end = performance.now() + (warm ? 1000 : seconds * 1000)
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const loop = async () => {
    while (performance.now() < end) {
      const r = await agent.request({ origin: `http://127.0.0.1:${port}`, method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: "Bearer k" }, body })
      JSON.parse(await r.body.text())
      calls++
    }
  }
  await Promise.all(Array.from({ length: conc }, loop))
  if (!warm) report("undici raw", calls, c0, t0)
  await agent.close()
}

const effectAsync = async (warm: boolean) => {
  const agent = new Agent()
  const once = Effect.async<unknown>((resume) => {
    agent.request({ origin: `http://127.0.0.1:${port}`, method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: "Bearer k" }, body })
      .then((r) => r.body.text()).then((text) => resume(Effect.succeed(JSON.parse(text))))
  })
  let calls = 0
  const end = performance.now() + (warm ? 1000 : seconds * 1000)
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const loop: Effect.Effect<void> = Effect.suspend(() =>
    performance.now() < end ? Effect.flatMap(once, () => { calls++; return loop }) : Effect.void
  )
  await Effect.runPromise(Effect.all(Array.from({ length: conc }, () => loop), { concurrency: "unbounded", discard: true }))
  if (!warm) report("effect async", calls, c0, t0)
  await agent.close()
}

const OpenAi = await loadOpenAi()
const adapter = (warm: boolean, label: string) => Effect.gen(function*() {
  const { ctx, provider } = yield* openAiAdapter(OpenAi, port, false)
  let calls = 0
  const end = performance.now() + (warm ? 1000 : seconds * 1000)
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const loop: Effect.Effect<void, unknown> = Effect.suspend(() =>
    performance.now() < end ? Effect.flatMap(provider.chat(ctx), () => { calls++; return loop }) : Effect.void
  )
  yield* Effect.all(Array.from({ length: conc }, () => loop), { concurrency: "unbounded", discard: true })
  if (!warm) report(label, calls, c0, t0)
})
const platform = (warm: boolean) => Effect.gen(function*() {
  const client = yield* HttpClient.HttpClient
  const request = HttpClientRequest.post(`http://127.0.0.1:${port}/v1/chat/completions`).pipe(
    HttpClientRequest.setHeader("authorization", "Bearer k"),
    HttpClientRequest.bodyText(body, "application/json")
  )
  const once = Effect.scoped(Effect.flatMap(client.execute(request), (r) => Effect.map(r.text, JSON.parse)))
  let calls = 0
  const end = performance.now() + (warm ? 1000 : seconds * 1000)
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const loop: Effect.Effect<void, unknown> = Effect.suspend(() =>
    performance.now() < end ? Effect.flatMap(once, () => { calls++; return loop }) : Effect.void
  )
  yield* Effect.all(Array.from({ length: conc }, () => loop), { concurrency: "unbounded", discard: true })
  if (!warm) report("platform client", calls, c0, t0)
})
const runPlatform = (warm: boolean) => Effect.runPromise(platform(warm).pipe(Effect.withTracerEnabled(false), Effect.provide(HttpClientLive)))
const PlatformClient = Layer.scoped(HttpClient.HttpClient, Effect.map(NodeHttpClient.makeDispatcher, NodeHttpClient.makeUndici))
const run = (warm: boolean) => Effect.runPromise(Effect.scoped(adapter(warm, "adapter")).pipe(Effect.withTracerEnabled(false), Effect.provide(HttpClientLive)))
const runOnPlatform = (warm: boolean) => Effect.runPromise(Effect.scoped(adapter(warm, "adapter/platform")).pipe(Effect.withTracerEnabled(false), Effect.provide(PlatformClient)))

const only = process.argv[5] ?? "all"
const variants = [["raw", raw], ["async", effectAsync], ["platform", runPlatform], ["adapter", run], ["adapter-platform", runOnPlatform]] as const
const chosen = variants.filter(([name]) => only === "all" || only === name)
for (const [, f] of chosen) await f(true)
for (let i = 0; i < 2; i++) for (const [, f] of chosen) await f(false)
process.exit(0)
