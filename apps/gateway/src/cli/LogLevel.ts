/**
 * The log level of `serve` and `demo`: `--log-level` (applied by `Commands.run`)
 * wins over `MODELGATE_LOG_LEVEL`, which wins over `logLevel` of the config.
 * `serve` follows the configuration's level across reloads (`LiveLogLevel`);
 * a level from the command line stays as given.
 */
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { load, type Source } from "@modelgate/core/GatewayConfig/Load"
import { Config, Effect, FiberRef, HashSet, Layer, Logger, LogLevel, Option, Stream } from "effect"
import * as BadUsage from "./BadUsage.js"

const levels = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None
} as const

/** @effect/cli's built-in `--log-level` (its levels are `LogLevel.allLevels`, in lower case). */
export const logLevelFlag = BadUsage.choiceFlag(
  "log-level",
  LogLevel.allLevels.map((l) => l._tag.toLowerCase()) as [string, ...Array<string>]
)

/**
 * `--log-level` taken out of `argv` (as @effect/cli's built-in does before
 * it runs the rest), with its level; None when it is absent (a value that is
 * no level stays, for `BadUsage.check` to report). `Commands.run` applies
 * the level itself: @effect/cli's built-in re-runs the rest and prints its
 * usage error twice (once in the inner run, again in the catch around it).
 */
export const takeLogLevel = (argv: ReadonlyArray<string>) => {
  let level = Option.none<LogLevel.LogLevel>()
  const rest: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = arg === "--log-level" ? argv[i + 1] : arg.startsWith("--log-level=") ? arg.slice("--log-level=".length) : undefined
    const found = LogLevel.allLevels.find((l) => l._tag.toLowerCase() === value)
    if (i < 2 || found === undefined) {
      rest.push(arg)
      continue
    }
    level = Option.some(found)
    if (arg === "--log-level") i++
  }
  return { level, argv: rest }
}

/** Run `self` at `level` unless the command line chose one (`flag`). */
export const atLevel = (flag: boolean, level: Option.Option<LogLevel.LogLevel>) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  flag || Option.isNone(level) ? self : Logger.withMinimumLogLevel(self, level.value)

/**
 * The level of the configuration in `source` (`logLevel` of the files,
 * `MODELGATE_LOG_LEVEL` over them). None for an unreadable configuration: the
 * gateway then fails with the configuration's own error.
 */
export const configuredLevel = (source: Source) =>
  Effect.option(Effect.map(load(source), (config) => levels[config.logLevel]))

/** `MODELGATE_LOG_LEVEL` alone (the demo writes its own configuration); an unknown level fails. */
export const envLevel = Effect.map(
  Config.option(Config.literal("trace", "debug", "info", "warning", "error", "none")("MODELGATE_LOG_LEVEL")),
  Option.map((l) => levels[l])
)

/**
 * A log level that may change while the gateway runs. The minimum level of
 * the fibers is a setting each one copied when it was forked, so it cannot
 * follow a reload: under `withLiveLevel` it is `All`, and every logger drops
 * what is below `current` instead.
 */
export interface LiveLogLevel {
  current: LogLevel.LogLevel
}

/** Run `self` with its loggers filtered by `live.current` (the fibers' own minimum lets everything through to them). */
export const withLiveLevel = (live: LiveLogLevel) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  self.pipe(
    Effect.locallyWith(FiberRef.currentLoggers, (loggers) =>
      HashSet.map(loggers, (logger) => Logger.filterLogLevel(logger, (level) => LogLevel.greaterThanEqual(level, live.current)))),
    Logger.withMinimumLogLevel(LogLevel.All)
  )

/**
 * Keep `live` at the `logLevel` of the running configuration (with
 * `MODELGATE_LOG_LEVEL` over it, as every load applies): set from the
 * configuration at start and after each reload or file change; a change is
 * logged (at info, so only when the new level shows info).
 */
export const followConfig = (live: LiveLogLevel): Layer.Layer<never, never, GatewayConfig> =>
  Layer.scopedDiscard(
    Effect.flatMap(GatewayConfig, (config) =>
      config.changes.pipe(
        Stream.map((c) => levels[c.logLevel]),
        Stream.changes,
        Stream.runForEach((level) =>
          Effect.suspend(() => {
            if (level === live.current) return Effect.void
            const from = live.current
            live.current = level
            return Effect.logInfo(`log level ${from.label} -> ${level.label} (configuration)`)
          })),
        Effect.forkScoped
      ))
  )
