/**
 * The core request path under concurrency (issue 6): `conc` fibers each
 * calling `Gateway.complete` back to back for `seconds` on GatewayLive with a
 * provider double whose answer comes on the next turn of the event loop (as
 * a network answer would, so the fibers interleave), CPU per call of this
 * process (the record writer's SQLite thread included), next to the double's
 * wait alone, run the same way. Their difference is what the core costs where
 * the gateway's c=64 load runs.
 *
 *   npx tsc -b && node --import tsx bench/micro-core-concurrent.ts [conc] [seconds]
 */
import { Gateway } from "@modelgate/core/Gateway"
import type { Provider } from "@modelgate/core/Provider"
import { Effect } from "effect"
import { concurrentLine, concurrently } from "./measure.js"
import { double, layerWith, request, requirements } from "./micro-core-setup.js"

process.setSourceMapsEnabled(false)
const conc = Number(process.argv[2] ?? "64")
const seconds = Number(process.argv[3] ?? "4")

/** The next turn of the event loop, as a network answer would come. */
const nextTurn = Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))

/** The double, answering on the next turn of the event loop. */
const later: Provider = { ...double, chat: (ctx) => Effect.zipRight(nextTurn, double.chat(ctx)) }

const run = (label: string, once: Effect.Effect<unknown, unknown>, ms: number) =>
  Effect.map(concurrently(conc, ms, once), (result) => {
    if (label !== "") console.log(concurrentLine(label, result))
  })

const program = Effect.gen(function*() {
  const gw = yield* Gateway
  // The double's own answer is a constant: what it costs alone is the turn it waits for.
  const alone = nextTurn
  const complete = gw.complete(request, requirements)
  yield* run("", complete, 1500)
  yield* run("", alone, 500)
  for (let i = 0; i < 3; i++) {
    yield* run("double", alone, seconds * 1000)
    yield* run("complete", complete, seconds * 1000)
  }
})

await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layerWith(later)), Effect.withTracerEnabled(false))))
process.exit(0)
