/**
 * The OpenAI adapter under concurrency (issue 6): `conc` fibers each calling
 * back to back against the bench upstream for `seconds`, CPU per call of this
 * process. What the adapter and its HTTP client cost where the gateway's c=64
 * load runs, without the idle wake-ups of sequential calls. Variants:
 * - `raw`: undici alone (`Agent.request` + `JSON.parse`, plain promises);
 * - `async`: the same in one `Effect.async`;
 * - `platform` / `live`: a POST through `@effect/platform-node`'s undici
 *   client / GatewayLive's `HttpClientLive`, body read as text and parsed;
 * - `adapter` / `adapter-platform`: the OpenAI adapter's `chat` over
 *   `HttpClientLive` / over the platform's client.
 *
 *   node --import tsx bench/upstream.ts 19001 &
 *   node --import tsx bench/micro-provider-concurrent.ts [port] [conc] [seconds] [variant|all]
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Agent } from "undici"
import { layer as HttpClientLiveOrConfigError } from "../packages/node/src/HttpClientLive.js"
import { concurrentLine, concurrently } from "./measure.js"
import { loadOpenAi, openAiAdapter } from "./openai-adapter.js"

/** GatewayLive's client (a malformed proxy variable, its only failure, is a defect here). */
const HttpClientLive = Layer.orDie(HttpClientLiveOrConfigError)

process.setSourceMapsEnabled(false)
const port = process.argv[2] ?? "19001"
const conc = Number(process.argv[3] ?? "64")
const seconds = Number(process.argv[4] ?? "4")
const only = process.argv[5] ?? "all"
const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] })
const requestOptions = {
  origin: `http://127.0.0.1:${port}`,
  method: "POST" as const,
  path: "/v1/chat/completions",
  headers: { "content-type": "application/json", authorization: "Bearer k" },
  body
}

const PlatformClient = Layer.scoped(HttpClient.HttpClient, Effect.map(NodeHttpClient.makeDispatcher, NodeHttpClient.makeUndici))
const OpenAi = await loadOpenAi()

/** A variant: how to make its `once` (in a scope that lives through its runs). */
type Variant = Effect.Effect<Effect.Effect<unknown, unknown>, unknown, import("effect").Scope.Scope>

/** undici alone, plain promises: `conc` async loops (no Effect), timed the same way. */
const raw = (ms: number) =>
  Effect.promise(async () => {
    const agent = new Agent()
    let calls = 0
    const end = performance.now() + ms
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const loop = async () => {
      while (performance.now() < end) {
        const r = await agent.request(requestOptions)
        JSON.parse(await r.body.text())
        calls++
      }
    }
    await Promise.all(Array.from({ length: conc }, loop))
    const c = process.cpuUsage(c0)
    await agent.close()
    return { calls, callsPerSecond: calls / ((performance.now() - t0) / 1000), cpuUsPerCall: (c.user + c.system) / calls }
  })

const effectAsync: Variant = Effect.map(
  Effect.acquireRelease(Effect.sync(() => new Agent()), (agent) => Effect.promise(() => agent.close())),
  (agent) =>
    Effect.async<unknown>((resume) => {
      agent.request(requestOptions).then((r) => r.body.text()).then((text) => resume(Effect.succeed(JSON.parse(text))))
    })
)

const post = (layer: Layer.Layer<HttpClient.HttpClient>): Variant =>
  Effect.map(Layer.build(layer), (context) => {
    const client = Effect.runSync(Effect.provide(HttpClient.HttpClient, context))
    const request = HttpClientRequest.post(`http://127.0.0.1:${port}/v1/chat/completions`).pipe(
      HttpClientRequest.setHeader("authorization", "Bearer k"),
      HttpClientRequest.bodyText(body, "application/json")
    )
    return Effect.scoped(Effect.flatMap(client.execute(request), (r) => Effect.map(r.text, JSON.parse)))
  })

const adapter = (layer: Layer.Layer<HttpClient.HttpClient>): Variant =>
  Effect.flatMap(Layer.build(layer), (context) =>
    Effect.map(Effect.provide(openAiAdapter(OpenAi, port, false), context), ({ ctx, provider }) => provider.chat(ctx)))

const variants: ReadonlyArray<readonly [string, Variant | "raw"]> = [
  ["raw", "raw"],
  ["async", effectAsync],
  ["platform", post(PlatformClient)],
  ["live", post(HttpClientLive)],
  ["adapter", adapter(HttpClientLive)],
  ["adapter-platform", adapter(PlatformClient)]
]

const program = Effect.gen(function*() {
  const chosen = variants.filter(([name]) => only === "all" || only === name)
  const onces = new Map<string, Effect.Effect<unknown, unknown>>()
  for (const [name, variant] of chosen) if (variant !== "raw") onces.set(name, yield* variant)
  const runFor = (name: string, ms: number) => {
    const once = onces.get(name)
    return once === undefined ? raw(ms) : concurrently(conc, ms, once)
  }
  for (const [name] of chosen) yield* runFor(name, 1000)
  for (let i = 0; i < 2; i++) {
    for (const [name] of chosen) console.log(concurrentLine(name, yield* runFor(name, seconds * 1000)))
  }
})

await Effect.runPromise(Effect.scoped(program).pipe(Effect.withTracerEnabled(false)))
// The adapters' watchdogs sleep out their timeouts otherwise.
process.exit(0)
