/**
 * Core + OpenAI adapter of a streamed request, without the HTTP server:
 * GatewayLive (bench/config, SQLite in a temporary directory, the shipped
 * adapters over undici) against the bench upstream, each stream drained as
 * the SSE writer does (through `StreamAnswer.open`). Prints per stream: Effect
 * ops and fibers (the patched runtime's `globalThis.__mg`), CPU best/median;
 * with `trace`, a histogram of the ops by op code and function source (op
 * supervision: slow, a diagnostic only).
 *
 *   node --import tsx bench/upstream.ts 19077 &
 *   node --import tsx bench/micro-stream-gateway.ts [port] [calls per block] [trace [top]]
 *
 * `MICRO_PROMPT=long-stream`: the upstream's long answer (203 events, each
 * written on its own turn), for what each streamed event costs.
 *
 * Runs on the packages' `dist`: build first (`npx tsc -b`).
 */
import type { ChatRequest } from "@modelgate/domain/Chat"
import { Gateway, type StreamAnswer } from "@modelgate/core/Gateway"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { measure } from "./measure.js"
import { traceOps } from "./op-histogram.js"

process.setSourceMapsEnabled(false)
const port = process.argv[2] ?? "19077"
const perBlock = Number(process.argv[3] ?? "1000")
const trace = process.argv[4] === "trace"
const top = Number(process.argv[5] ?? 60)

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-micro-stream-"))
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
const layer = GatewayLive.layerWith({ configDirectory: "bench/config", watch: false }).pipe(
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(
    new Map([["OPENAI_API_KEY", "k"], ["OPENAI_BASE_URL", `http://127.0.0.1:${port}/v1`], ["MODELGATE_DB", path.join(dir, "m.db")]])
  )))
)
const request: ChatRequest = { model: "gpt-4o-mini", messages: [{ role: "user", content: process.env["MICRO_PROMPT"] ?? "Say hello." }], stream: true }
const requirements = { capabilities: [], priority: "MEDIUM" } as const

const program = Effect.gen(function*() {
  const gw = yield* Gateway
  let chunks = 0
  const drainOpen = (open: NonNullable<StreamAnswer["open"]>) =>
    Effect.suspend(() => {
      const { close, pull } = open()
      const step: Effect.Effect<void, unknown> = Effect.flatMap(pull, (c) => {
        chunks += c.length
        return step
      })
      return Effect.flatMap(Effect.exit(step), () => close(Exit.void))
    })
  const once = Effect.flatMap(gw.stream(request, requirements), (answer) => drainOpen(answer.open!))
  yield* once
  const expected = request.messages[0]?.content === "long-stream" ? 203 : 8
  if (chunks !== expected) throw new Error(`expected ${expected} chunks, got ${chunks}`)
  if (!trace) {
    console.log(yield* measure("gateway stream", once, perBlock))
    return
  }
  yield* traceOps("gateway stream", once, { top, warmup: 300, width: 120 })
})

await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer), Effect.withTracerEnabled(false))))
