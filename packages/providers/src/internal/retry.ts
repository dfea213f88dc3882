/**
 * The retry policy of every adapter call: exponential, jittered, capped, at
 * most `maxRetries` retries, only while the error is retryable. A provider's
 * own hint (`retryAfterMs` on RateLimited / Overloaded) replaces the computed
 * delay; a hint longer than `maxRetryWaitMs` stops retrying at once, so the
 * caller can move on instead of waiting (a 429: to another key of the
 * provider with room, else failover).
 */
import type { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { RetryChoice } from "@modelgate/core/Provider"
import { isUnreachable, type ProviderError } from "@modelgate/domain/ProviderError"
import { Duration, Effect, Option, Schedule } from "effect"
import { attemptOf, withAttempts } from "./errors.js"

/** First backoff delay when the provider gives no hint. */
export const baseDelayMs = 250
/** Largest computed backoff delay (also capped by `maxRetryWaitMs`). */
export const capDelayMs = 8_000

/** The provider's retry hint carried by an error, when present. */
export const retryHint = (error: ProviderError): number | undefined =>
  error._tag === "RateLimited" || error._tag === "Overloaded" ? error.retryAfterMs : undefined

/**
 * Whether the policy may retry this error at all: retryable, hint within the
 * wait budget, the provider reachable (a refused connection is not tried
 * again within the same call: the failover moves on to the next candidate),
 * and no answer billed (an answer that came whole but cannot be used carries
 * its `usage`: each call would be billed again, and the gateway charges this
 * one; the failover decides what is next).
 */
export const mayRetry = (error: ProviderError, maxRetryWaitMs: number): boolean =>
  error.retryable && error.usage === undefined && (retryHint(error) ?? 0) <= maxRetryWaitMs && !isUnreachable(error)

/** The end of the retries, as the policy's own end (`Schedule.driver`'s `next` failing). */
const noMore = Effect.fail(Option.none())

/** The named retry policy for one provider's limits. */
export const retryPolicy = (
  config: Pick<ProviderConfig, "maxRetries" | "maxRetryWaitMs">
): Schedule.Schedule<unknown, ProviderError> => {
  const cap = Duration.millis(Math.min(capDelayMs, config.maxRetryWaitMs))
  return Schedule.identity<ProviderError>().pipe(
    Schedule.zipLeft(Schedule.jittered(Schedule.exponential(Duration.millis(baseDelayMs)))),
    Schedule.whileInput((error: ProviderError) => mayRetry(error, config.maxRetryWaitMs)),
    Schedule.modifyDelay((error, delay) => {
      const hint = retryHint(error)
      return hint !== undefined ? Duration.millis(hint) : Duration.min(delay, cap)
    }),
    Schedule.intersect(Schedule.recurs(config.maxRetries))
  )
}

/**
 * Run `attempt` under `retryPolicy(config)`. The error that finally comes out
 * carries `attempts`: the tag, status and message of every failed attempt.
 * Each attempt is told how many earlier attempts of the call the provider
 * answered (an HTTP status: requests it counted against its limits), so an
 * answer can report them (`ResponseMeta.retried`). The schedule and the
 * attempt list are only built once an attempt failed (the first attempt
 * usually succeeds): the loop is `Effect.retry`'s, driven by `Schedule.driver`.
 * `onRetry` (`CallContext.onRetry`) is told of each failure the policy
 * retries, before the wait: a provider's refusal is known to the caller while
 * the call waits it out. When it answers `"elsewhere"` the call fails with
 * that failure at once (the caller runs it on another key). A call
 * `abandoned` (`CallContext.abandoned`: its client left, the gateway let it
 * run on) sends no further retry, whether it is told before or during the
 * wait: it fails with the failure it would have retried (the provider bills
 * each request it answers, and nobody would read the retry's answer).
 */
export const withRetries = <A>(
  attempt: (answeredBefore: number) => Effect.Effect<A, ProviderError>,
  config: Pick<ProviderConfig, "maxRetries" | "maxRetryWaitMs">,
  onRetry?: ((error: ProviderError) => Effect.Effect<RetryChoice | void>) | undefined,
  abandoned?: (() => boolean) | undefined
): Effect.Effect<A, ProviderError> =>
  Effect.catchAll(attempt(0), (first) =>
    Effect.flatMap(Schedule.driver(retryPolicy(config)), (driver) => {
      const attempts = [attemptOf(first)]
      const answered = () => attempts.filter((a) => a.status !== undefined).length
      // Nobody waits for the answer any more (`CallContext.abandoned`): no retry, this failure is the call's end.
      const left = () => abandoned !== undefined && abandoned()
      // Retried when it may be and retries are left (`attempts` holds this failure and those before it).
      // `onRetry` answering "elsewhere" ends the call with this failure, without waiting (see `CallContext.onRetry`).
      const decide = (error: ProviderError) =>
        left()
          ? noMore
          : onRetry !== undefined && attempts.length <= config.maxRetries && mayRetry(error, config.maxRetryWaitMs)
          ? Effect.flatMap(onRetry(error), (choice) => choice === "elsewhere" ? noMore : driver.next(error))
          : driver.next(error)
      const loop = (error: ProviderError): Effect.Effect<A, ProviderError> =>
        Effect.matchEffect(decide(error), {
          onFailure: () => Effect.fail(withAttempts(error, attempts)),
          onSuccess: () =>
            // Left during the wait: the retry is not sent.
            left()
              ? Effect.fail(withAttempts(error, attempts))
              : Effect.catchAll(Effect.suspend(() => attempt(answered())), (next) => {
                attempts.push(attemptOf(next))
                return loop(next)
              })
        })
      return loop(first)
    }))
