/**
 * How long the core works on a request after its provider answered and
 * before `Gateway.complete` hands the answer back (accounting, records,
 * performance, health, events, evaluation): the part of a request's core
 * time that delays the client's bytes at concurrency 1. The provider double
 * of micro-core-setup.ts, timed at its answer; median and p10 over blocks.
 *
 *   node --import tsx bench/micro-core-tail.ts [calls]
 *
 * Runs on the packages' `dist`: build first (`npx tsc -b`).
 */
import { Gateway } from "@modelgate/core/Gateway"
import { type Provider, Providers } from "@modelgate/core/Provider"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { request, requirements } from "./micro-core-setup.js"

const calls = Number(process.argv[2] ?? 20000)
let answeredAt = 0
let calledAt = 0

const double: Provider = {
  id: "openai",
  requiresKey: true,
  chat: (ctx) =>
    Effect.sync(() => {
      answeredAt = performance.now()
      return {
        response: {
          id: "x",
          object: "chat.completion" as const,
          created: 0,
          model: ctx.model.providerModel,
          choices: [{ index: 0, message: { role: "assistant" as const, content: "hello" }, finish_reason: "stop" as const }],
          usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 }
        },
        rateLimit: undefined,
        providerRequestId: undefined
      }
    }),
  stream: () => Effect.die("not streamed here"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-tail-"))
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
const layer = GatewayLive.layerWith({
  configDirectory: "bench/config",
  watch: false,
  providers: Layer.succeed(Providers, Providers.fromList([double]))
}).pipe(
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", "k"], ["MODELGATE_DB", path.join(dir, "m.db")]]))))
)

const program = Effect.gen(function*() {
  const gw = yield* Gateway
  const before: Array<number> = []
  const after: Array<number> = []
  for (let i = 0; i < calls; i++) {
    calledAt = performance.now()
    yield* gw.complete(request, requirements)
    const done = performance.now()
    before.push((answeredAt - calledAt) * 1000)
    after.push((done - answeredAt) * 1000)
    // Like requests arriving one at a time: let the writer and timers run between them.
    if (i % 16 === 0) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
  }
  const stat = (xs: Array<number>) => {
    const s = xs.slice(calls / 2).sort((a, b) => a - b)
    return `p10 ${s[Math.floor(s.length * 0.1)]!.toFixed(1)} / p50 ${s[Math.floor(s.length / 2)]!.toFixed(1)} us`
  }
  console.log(`call -> provider answer: ${stat(before)}; provider answer -> answer handed back: ${stat(after)}`)
})

await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer), Effect.withTracerEnabled(false))))
