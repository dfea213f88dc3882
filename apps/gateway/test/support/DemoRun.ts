/**
 * Run `modelgate demo` in-process for a test: on port 0, with these variables
 * only, its console captured; returns once the banner is out.
 */
import { NodeContext } from "@effect/platform-node"
import { Cause, ConfigProvider, Console, Effect, Fiber, Logger, Schedule } from "effect"
import { runDemo } from "../../src/cli/demo.js"

/** Start the demo with `env` (and `logger` in place of the default one, if given): what it printed, its address and its fiber. */
export const startDemo = (env: Record<string, string>, logger?: Logger.Logger<unknown, void>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const console = new Proxy({} as Console.Console, {
      get: (_target, key) => {
        if (key === "log" || key === "error") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(xs.join(" ")))
        if (key === "unsafe") return { log: () => {}, error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, trace: () => {} }
        if (key === Console.TypeId) return Console.TypeId
        return () => Effect.void
      }
    })
    const demo = runDemo({ port: 0, host: "127.0.0.1" }).pipe(
      Effect.withConsole(console),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.provide(NodeContext.layer)
    )
    const fiber = yield* Effect.fork(logger === undefined ? demo : Effect.provide(demo, Logger.replace(Logger.defaultLogger, logger)))
    const text = yield* Effect.sync(() => out.join("\n")).pipe(
      Effect.filterOrFail((t) => t.includes("Background load")),
      Effect.retry(Schedule.spaced("50 millis")),
      Effect.timeout("20 seconds"),
      Effect.catchAll(() =>
        Effect.flatMap(Fiber.poll(fiber), (exit) =>
          Effect.dieMessage(
            `no banner: ${out.join("\n")} ${exit._tag === "Some" && exit.value._tag === "Failure" ? Cause.pretty(exit.value.cause) : "running"}`
          ))
      )
    )
    const base = /(http:\/\/127\.0\.0\.1:\d+)\/v1\/models/.exec(text)?.[1]
    return { text, base, fiber, out }
  })
