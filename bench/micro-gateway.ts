/**
 * Micro benchmark of the core request path: `Gateway.complete` on the real
 * `GatewayLive` (bench/config registry, SQLite records in a temporary
 * directory) with a provider double that answers at once, so what is measured
 * is the gateway's own work: selection, limiter, budgets, accounting,
 * performance, records. Sequential calls; prints wall and CPU time per call.
 *
 *   node --import tsx bench/micro-gateway.ts [notrace]
 *
 * `notrace` runs with the tracer disabled (`Effect.withTracerEnabled(false)`).
 * Runs on the packages' `dist`: build first (`npx tsc -b`).
 */
import { Gateway } from "@modelgate/core/Gateway"
import { type Provider, Providers } from "@modelgate/core/Provider"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const double: Provider = {
  id: "openai",
  requiresKey: true,
  chat: (ctx) =>
    Effect.succeed({
      response: {
        id: "x",
        object: "chat.completion",
        created: 0,
        model: ctx.model.providerModel,
        choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 }
      },
      rateLimit: undefined,
      providerRequestId: undefined
    }),
  stream: () => Effect.die("not used"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-micro-"))
const db = path.join(dir, "m.db")
const tracer = process.argv[2] !== "notrace"
const layer = GatewayLive.layerWith({
  configDirectory: "bench/config",
  watch: false,
  providers: Layer.succeed(Providers, Providers.fromList([double]))
}).pipe(
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", "k"], ["MODELGATE_DB", db]]))))
)
const request = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Say hello." }] }
const warmup = 3000
const blocks = 5
const block = 1000

const program = Effect.gen(function*() {
  const gw = yield* Gateway
  // JIT warm-up first: the first few thousand calls cost 2-3x the steady state.
  for (let i = 0; i < warmup; i++) yield* gw.complete(request, { capabilities: [], priority: "MEDIUM" })
  const cpu: Array<number> = []
  const wall: Array<number> = []
  for (let b = 0; b < blocks; b++) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    for (let i = 0; i < block; i++) yield* gw.complete(request, { capabilities: [], priority: "MEDIUM" })
    const c1 = process.cpuUsage(c0)
    wall.push(((performance.now() - t0) / block) * 1000)
    cpu.push((c1.user + c1.system) / block)
  }
  const best = (xs: ReadonlyArray<number>) => Math.min(...xs).toFixed(1)
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1)
  console.log(
    `gateway tracer=${tracer}, after ${warmup} warm-up calls, ${blocks} blocks of ${block}: ` +
      `cpu best ${best(cpu)} / median ${median(cpu)} us/req, wall best ${best(wall)} / median ${median(wall)} us/req`
  )
})

await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer), tracer ? (x) => x : Effect.withTracerEnabled(false))))
fs.rmSync(dir, { recursive: true, force: true })
