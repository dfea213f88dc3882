/**
 * The rate limiter's signals (warning, limited, reset) as events on the bus
 * and `RateLimitEventRecord`s for the record sink. A key window's
 * `RateLimited` and `WindowReset` name the key, by its position and its
 * fingerprint (`ApiKeys.sharedIds`; never the key); a model window's name none.
 */
import { RateLimitedEvent, RateLimitWarning, WindowReset } from "@modelgate/domain/Events"
import { RateLimitEventRecord } from "@modelgate/domain/Records"
import { Effect } from "effect"
import type { Events } from "../Events.js"
import type { RecordSink } from "../RecordSink.js"
import type * as SlidingWindow from "./SlidingWindow.js"

/** The fields naming a key window's key: its position id and, when known, its fingerprint. */
const keyFields = (
  keyId: string | undefined,
  fingerprints: ReadonlyMap<string, string> | undefined
): { readonly keyId?: string; readonly keyFingerprint?: string } => {
  if (keyId === undefined) return {}
  const keyFingerprint = fingerprints?.get(keyId)
  return keyFingerprint === undefined ? { keyId } : { keyId, keyFingerprint }
}

/**
 * Publish and record the signals of one step on `model` (and `keyId`, named
 * with its fingerprint from `fingerprints`: each key id to it) at `at`.
 * Events and records are built with validation off (`, true`): the window's own
 * typed signals, possibly one per request near a limit (test/HotPathSchemas.test.ts).
 */
export const emitter = (events: Events["Type"], sink: RecordSink["Type"], fingerprints?: ReadonlyMap<string, string>) =>
(model: string, keyId: string | undefined, at: number, windowMs: number, signals: ReadonlyArray<SlidingWindow.Signal>): Effect.Effect<void> =>
  Effect.forEach(
    signals,
    (signal) => {
      const key = keyFields(keyId, fingerprints)
      const scope = key.keyId === undefined ? "" : ` (key ${key.keyId}${key.keyFingerprint === undefined ? "" : ` ${key.keyFingerprint}`})`
      switch (signal._tag) {
        case "Warning":
          return Effect.zipRight(
            events.publish(new RateLimitWarning({ at, model, dimension: signal.dimension, used: signal.used, limit: signal.limit }, true)),
            sink.offer(
              new RateLimitEventRecord({
                at,
                model,
                kind: "warning",
                dimension: signal.dimension,
                detail: `${signal.used} of ${signal.limit} ${signal.dimension} used in the last ${windowMs} ms${scope}`
              }, true)
            )
          )
        case "Limited":
          return Effect.zipRight(
            events.publish(
              new RateLimitedEvent({ at, model, dimension: signal.dimension, retryAfterMs: signal.retryAfterMs, ...key }, true)
            ),
            sink.offer(
              new RateLimitEventRecord({
                at,
                model,
                kind: "limited",
                dimension: signal.dimension,
                detail: `${signal.dimension} limit reached${scope}; room again in ${signal.retryAfterMs} ms`
              }, true)
            )
          )
        case "Reset":
          return Effect.zipRight(
            events.publish(new WindowReset({ at, model, ...key }, true)),
            sink.offer(new RateLimitEventRecord({ at, model, kind: "reset", detail: `room again${scope}` }, true))
          )
      }
    },
    { discard: true }
  )
