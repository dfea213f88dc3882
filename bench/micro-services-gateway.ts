/**
 * Micro benchmark of the per-request services (issue 6): `Gateway.complete`
 * on `GatewayLive` with a provider double, like micro-gateway.ts, plus the
 * Effect ops and fibers per call from the patched runtime counter
 * (`globalThis.__mg`, see /work/helpers/PERF.md), so a change to
 * RateLimiter, CostTracker, ModelSelector, PerformanceMonitor, ... can be
 * read off noise-free.
 *
 *   node --import tsx bench/micro-services-gateway.ts [auto]
 *
 * `auto` sends `model: "auto"` (selection over the whole registry).
 * Runs on the packages' `dist`: build first (`npx tsc -b`).
 */
import { Gateway } from "@modelgate/core/Gateway"
import { type Provider, Providers } from "@modelgate/core/Provider"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const double = (id: string): Provider => ({
  id,
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
})

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-micro-services-"))
const db = path.join(dir, "m.db")
const auto = process.argv[2] === "auto"
const layer = GatewayLive.layerWith({
  configDirectory: "bench/config",
  watch: false,
  providers: Layer.succeed(Providers, Providers.fromList([double("openai"), double("anthropic"), double("gemini"), double("ollama")]))
}).pipe(
  Layer.provide(
    Layer.setConfigProvider(
      ConfigProvider.fromMap(
        new Map([["OPENAI_API_KEY", "k"], ["ANTHROPIC_API_KEY", "k"], ["GEMINI_API_KEY", "k"], ["MODELGATE_DB", db]])
      )
    )
  )
)
const request = { model: auto ? "auto" : "gpt-4o-mini", messages: [{ role: "user" as const, content: "Say hello." }] }
const requirements = { capabilities: [], priority: "MEDIUM" } as const
const warmup = 3000
const blocks = 5
const block = 1000
const counter = (): { ops: number; fibers: number } => (globalThis as unknown as { __mg?: { ops: number; fibers: number } }).__mg ?? { ops: 0, fibers: 0 }

const program = Effect.gen(function*() {
  const gw = yield* Gateway
  for (let i = 0; i < warmup; i++) yield* gw.complete(request, requirements)
  const cpu: Array<number> = []
  const o0 = counter().ops
  const f0 = counter().fibers
  for (let b = 0; b < blocks; b++) {
    const c0 = process.cpuUsage()
    for (let i = 0; i < block; i++) yield* gw.complete(request, requirements)
    const c1 = process.cpuUsage(c0)
    cpu.push((c1.user + c1.system) / block)
  }
  const n = blocks * block
  const ops = (counter().ops - o0) / n
  const fibers = (counter().fibers - f0) / n
  const sorted = [...cpu].sort((a, b) => a - b)
  console.log(
    `model=${request.model}: ops/call ${ops.toFixed(1)}, fibers/call ${fibers.toFixed(2)}, ` +
      `cpu best ${sorted[0]!.toFixed(1)} / median ${sorted[2]!.toFixed(1)} us/call`
  )
})

await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer), Effect.withTracerEnabled(false))))
fs.rmSync(dir, { recursive: true, force: true })
