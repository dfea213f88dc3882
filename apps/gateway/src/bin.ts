#!/usr/bin/env node
/**
 * The `modelgate` executable (`npm start` runs `node apps/gateway/dist/bin.js serve`).
 * SIGTERM / SIGINT interrupt the program: the server drains and the layers'
 * finalizers flush their records before the process exits 0 (1 when the
 * record writer closed with records not known to be written: cli/RecordsAtExit.ts).
 * Bad usage (an unknown flag or command, a missing or bad value) exits 2
 * (cli/BadUsage.ts); a command's own failure (`config validate` finding
 * problems included) exits 1.
 */
import { ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Option } from "effect"
import * as BadUsage from "./cli/BadUsage.js"
import * as Commands from "./cli/Commands.js"
import * as RecordsAtExit from "./cli/RecordsAtExit.js"
import { makeAppLayer, makeCostsLayer, makeRegistryLayer } from "./cli/runtime.js"

/** A failure's message; `ServeError` and friends carry theirs in `cause`. */
const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  if (error.message !== "") return error.message
  const cause = (error as { readonly cause?: unknown }).cause
  const tag = (error as { readonly _tag?: string })._tag ?? error.name
  const detail = cause instanceof Error ? cause.message : cause === undefined ? "" : String(cause)
  return tag === "ServeError" ? `cannot listen: ${detail}` : `${tag}${detail === "" ? "" : `: ${detail}`}`
}

const report = (cause: Cause.Cause<unknown>) => {
  if (Cause.isInterruptedOnly(cause)) return Effect.void
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    // Usage errors are already printed (by @effect/cli, or by Commands.run for a flag's value).
    if (ValidationError.isValidationError(error)) return Effect.void
    return Console.error(`modelgate: ${describe(error)}`)
  }
  return Console.error(`modelgate: unexpected failure\n${Cause.pretty(cause)}`)
}

// The runtime interrupts the program on the first SIGINT / SIGTERM and then stops listening, so a
// second one (Ctrl-C under `npm start` reaches node twice: from the terminal and forwarded by npm)
// would kill the process by the default action, cutting the drain and losing the queued records.
// These listeners stay: a repeated signal is logged and the graceful shutdown goes on (bounded by
// `server.shutdownGraceMs`).
let signals = 0
const repeatedSignal = (signal: NodeJS.Signals) => {
  if (++signals > 1) process.stderr.write(`modelgate: ${signal} received again; already shutting down (draining, flushing records)\n`)
}
process.on("SIGINT", repeatedSignal)
process.on("SIGTERM", repeatedSignal)

// `.env` is read before the command line is parsed, so every variable (MODELGATE_CONFIG_DIR and
// MODELGATE_ENV included) may be set there.
const shutdown = Effect.runSync(RecordsAtExit.makeReport)
Commands.runWithDotEnv({ app: makeAppLayer, registry: makeRegistryLayer, costs: makeCostsLayer })(process.argv).pipe(
  Effect.tapErrorCause(report),
  Effect.provideService(RecordsAtExit.ShutdownReport, shutdown),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: BadUsage.teardown(RecordsAtExit.teardown(shutdown, (line) => process.stderr.write(`${line}\n`)))
  })
)
