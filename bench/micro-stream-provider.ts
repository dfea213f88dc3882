/**
 * Where the Effect ops of one streamed OpenAI answer go, phase by phase: the
 * adapter's `stream` (request, headers), opening its chunk stream for pulling
 * as the core does (`Stream.toPull` in a scope), each pull, and the close of
 * that scope. Counted with the patched runtime's `globalThis.__mg` (every op of
 * every fiber; op supervision misses ops run under restored runtime flags).
 *
 *   node --import tsx bench/upstream.ts 19077 &
 *   node --import tsx bench/micro-stream-provider.ts [port] [streams] [open]
 *
 * With `open`, the adapter's bare pull (`StreamResult.open`, as the core
 * pulls it) instead of `Stream.toPull` over its `chunks`.
 * Runs the adapter from `packages/providers/src` (MG_OPENAI_SRC: another copy).
 */
import type { ChatRequest } from "@modelgate/domain/Chat"
import { NodeHttpClient } from "@effect/platform-node"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Exit, Redacted, Schema, Scope, Stream } from "effect"
import * as fs from "node:fs"

process.setSourceMapsEnabled(false)
const OpenAi: typeof import("../packages/providers/src/OpenAi.js") = await import(
  `${process.env["MG_OPENAI_SRC"] ?? "../packages/providers/src"}/OpenAi.ts`
)
const port = process.argv[2] ?? "19077"
const n = Number(process.argv[3] ?? "3000")
const viaOpen = process.argv[4] === "open"
const model = Schema.decodeUnknownSync(ModelMetadata)(JSON.parse(fs.readFileSync("bench/config/models.json", "utf8")).models[0])
const ops = () => (globalThis as unknown as { __mg?: { ops: number } }).__mg?.ops ?? 0

const program = Effect.gen(function*() {
  const provider = yield* OpenAi.make(Effect.succeed(ProviderConfig.make({ baseUrl: `http://127.0.0.1:${port}/v1` })))
  const ctx = {
    request: { model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }], stream: true } satisfies ChatRequest,
    model,
    key: { id: "openai#0", value: Redacted.make("k") }
  }
  const phases = new Map<string, number>()
  const add = (k: string, v: number) => phases.set(k, (phases.get(k) ?? 0) + v)
  const warmup = 500
  let cpu = 0
  for (let i = 0; i < warmup + n; i++) {
    const on = i >= warmup
    const c0 = process.cpuUsage()
    let t = ops()
    const lap = (k: string) => {
      const now = ops()
      if (on) add(k, now - t)
      t = now
    }
    const result = yield* provider.stream(ctx)
    lap("stream")
    if (viaOpen && result.open !== undefined) {
      const { close, pull } = result.open()
      lap("open")
      for (let k = 0;; k++) {
        const next = yield* Effect.exit(pull)
        lap(`pull ${k}${Exit.isSuccess(next) ? ` (${next.value.length} chunks)` : " (end)"}`)
        if (Exit.isFailure(next)) break
      }
      yield* close
      lap("close")
    } else {
      const scope = yield* Scope.make()
      const pull = yield* Scope.extend(Stream.toPull(result.chunks), scope)
      lap("toPull")
      for (let k = 0;; k++) {
        const next = yield* Effect.exit(pull)
        lap(`pull ${k}${Exit.isSuccess(next) ? ` (${next.value.length} chunks)` : " (end)"}`)
        if (Exit.isFailure(next)) break
      }
      yield* Scope.close(scope, Exit.void)
      lap("close")
    }
    if (on) {
      const c = process.cpuUsage(c0)
      cpu += c.user + c.system
    }
  }
  let total = 0
  for (const [k, v] of phases) {
    console.log(`${k.padEnd(20)} ${(v / n).toFixed(1)}`)
    total += v
  }
  console.log(`${"total ops".padEnd(20)} ${(total / n).toFixed(1)}; cpu ${(cpu / n).toFixed(1)} us per stream (mean)`)
})

await Effect.runPromise(Effect.scoped(program).pipe(Effect.withTracerEnabled(false), Effect.provide(NodeHttpClient.layerUndici)))
