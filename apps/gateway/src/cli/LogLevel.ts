/**
 * The log level of `serve` and `demo`: `--log-level` (handled by @effect/cli)
 * wins over `MODELGATE_LOG_LEVEL`, which wins over `logLevel` of the config.
 * Applied at start: a reload that changes `logLevel` takes effect at the next
 * start (the level is a fiber setting every running fiber copied when forked).
 */
import { load, type Source } from "@modelgate/core/GatewayConfig/Load"
import { Config, Effect, Logger, LogLevel, Option } from "effect"

const levels = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None
} as const

/** Was `--log-level` given on the command line (then @effect/cli applies it)? */
export const hasLogLevelFlag = (argv: ReadonlyArray<string>): boolean =>
  argv.some((arg) => arg === "--log-level" || arg.startsWith("--log-level="))

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
