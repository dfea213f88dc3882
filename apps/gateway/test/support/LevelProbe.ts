/**
 * The level the gateway logs at, as heard: a double of the app layer logs a
 * probe at every level while it is built, and a capturing logger keeps the
 * ones that got through; the lowest of them is the level in force.
 */
import { Effect, Layer, Logger, LogLevel } from "effect"

const probe = "level probe"

/** A fresh probe: `logger` to provide around the command, `logAll` to run in the double, `lowest` to read after. */
export const levelProbe = () => {
  const heard: Array<string> = []
  const logger = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      if (String(message).includes(probe)) heard.push(logLevel.label)
    })
  )
  const logAll = Effect.forEach(
    [LogLevel.Trace, LogLevel.Debug, LogLevel.Info, LogLevel.Warning, LogLevel.Error],
    (level) => Effect.logWithLevel(level, probe),
    { discard: true }
  )
  return { logger: logger as Layer.Layer<never>, logAll, lowest: (): string | undefined => heard[0] }
}
