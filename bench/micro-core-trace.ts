/**
 * Where the Effect ops of one core request go: runs `Gateway.complete` (or a
 * drained `Gateway.stream`) on GatewayLive with provider doubles (as in
 * micro-core-ops.ts), then repeats it under op supervision and prints a
 * histogram of the ops run, keyed by op code and the source of its function.
 *
 *   node --import tsx bench/micro-core-trace.ts [complete|stream] [top]
 *
 * A diagnostic, not a timing: op supervision slows every op down.
 */
import { Gateway } from "@modelgate/core/Gateway"
import { Effect, Stream } from "effect"
import { layer, request, requirements } from "./micro-core-setup.js"
import { traceOps } from "./op-histogram.js"

const mode = process.argv[2] ?? "complete"
const top = Number(process.argv[3] ?? 60)

const program = Effect.gen(function*() {
  const gw = yield* Gateway
  const call = mode === "stream"
    ? Effect.flatMap(gw.stream(request, requirements), (answer) =>
      Effect.scoped(Effect.flatMap(Stream.toPull(answer.chunks), (pull) => Effect.ignore(Effect.forever(pull)))))
    : gw.complete(request, requirements)
  yield* traceOps(mode, call, { top })
})

await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer), Effect.withTracerEnabled(false))))
