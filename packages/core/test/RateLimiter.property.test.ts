import { assert, describe, it } from "@effect/vitest"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Either, FastCheck as fc, Layer, Schema, TestClock } from "effect"
import * as Events from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { RateLimiter } from "../src/RateLimiter.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import type { Reservation } from "../src/RateLimiter.js"
import * as RecordSink from "../src/RecordSink.js"

const windowMs = 60_000
const bucketMs = 1_000

const model = (rpm: number, tpm: number) =>
  Schema.decodeUnknownSync(ModelMetadata)({
    id: "m1",
    provider: "anthropic",
    providerModel: "claude-test",
    displayName: "Test model",
    capabilities: ["chat"],
    contextWindow: 200_000,
    maxOutputTokens: 8_000,
    pricing: { inputPerMillion: 3, outputPerMillion: 15 },
    rateLimits: { rpm, tpm },
    qualityTier: "standard",
    qualityScore: 0.8
  })

const testLayer = RateLimiterModule.layerMemory.pipe(
  Layer.provide(Layer.mergeAll(GatewayConfig.layerStatic(), RecordSink.layerMemory, Events.layer))
)

/** One step of a random workload. */
const op = fc.record({
  dt: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 30_000 })),
  kind: fc.constantFrom("reserve", "reserve", "reserve", "settle", "release"),
  tokens: fc.integer({ min: 1, max: 400 }),
  pick: fc.nat(),
  /** The actual usage as a fraction of the estimate. */
  ratio: fc.double({ min: 0, max: 2, noNaN: true }),
  twice: fc.boolean()
})

const workload = fc.record({
  rpm: fc.integer({ min: 1, max: 12 }),
  tpm: fc.integer({ min: 50, max: 1_500 }),
  ops: fc.array(op, { minLength: 1, maxLength: 60 })
})

/** An accepted reservation as the provider would count it after settle / release. */
interface Accepted {
  readonly at: number
  readonly reservation: Reservation
  requests: number
  tokens: number
  closed: boolean
}

/** Run a workload through the limiter; `refundOnly` keeps settled counts at or below the estimate. */
const run = (w: typeof workload extends fc.Arbitrary<infer T> ? T : never, refundOnly: boolean) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter
    const m = model(w.rpm, w.tpm)
    const accepted: Array<Accepted> = []
    let now = 0
    for (const o of w.ops) {
      yield* TestClock.adjust(o.dt)
      now += o.dt
      if (o.kind === "reserve" || accepted.length === 0) {
        const result = yield* Effect.either(limiter.reserve(m, o.tokens))
        if (Either.isRight(result)) {
          accepted.push({ at: now, reservation: result.right, requests: 1, tokens: o.tokens, closed: false })
        } else {
          assert.isAbove(result.left.retryAfterMs, 0)
        }
        continue
      }
      const target = accepted[o.pick % accepted.length]!
      const times = o.twice ? 2 : 1
      if (o.kind === "settle") {
        const ratio = refundOnly ? Math.min(o.ratio, 1) : o.ratio
        const actual = Math.floor(target.reservation.tokens * ratio)
        for (let i = 0; i < times; i++) yield* limiter.settle(target.reservation, actual)
        if (!target.closed) {
          target.tokens = actual
          target.closed = true
        }
      } else {
        for (let i = 0; i < times; i++) yield* limiter.release(target.reservation)
        if (!target.closed) {
          target.requests = 0
          target.tokens = 0
          target.closed = true
        }
      }
    }
    return { limiter, m, accepted, now }
  })

/** What the limiter should see at `now`: everything charged in buckets k-60..k. */
const expectedView = (accepted: ReadonlyArray<Accepted>, now: number) => {
  const k = Math.floor(now / bucketMs)
  const live = accepted.filter((a) => Math.floor(a.at / bucketMs) >= k - 60)
  return {
    requests: live.reduce((n, a) => n + a.requests, 0),
    tokens: live.reduce((n, a) => n + a.tokens, 0)
  }
}

describe("RateLimiter properties", () => {
  it.effect.prop(
    "every 60 s window of accepted requests stays within rpm and tpm, and full capacity returns after a window",
    [workload],
    ([w]) =>
      Effect.gen(function* () {
        const { accepted, limiter, m, now } = yield* run(w, true)
        for (const start of accepted) {
          let requests = 0
          let tokens = 0
          for (const a of accepted) {
            if (a.at >= start.at && a.at <= start.at + windowMs) {
              requests += a.requests
              tokens += a.tokens
            }
          }
          assert.isAtMost(requests, w.rpm, `requests in [${start.at}, ${start.at + windowMs}]`)
          assert.isAtMost(tokens, w.tpm, `tokens in [${start.at}, ${start.at + windowMs}]`)
        }
        const view = yield* limiter.headroom(m, 0)
        assert.deepStrictEqual([view.requestsUsed, view.tokensUsed], [expectedView(accepted, now).requests, expectedView(accepted, now).tokens])

        yield* TestClock.adjust(windowMs + bucketMs)
        const room = yield* limiter.headroom(m, w.tpm)
        assert.isTrue(room.fits)
        assert.deepStrictEqual([room.requestsUsed, room.tokensUsed], [0, 0])
        const each = Math.floor(w.tpm / w.rpm)
        for (let i = 0; i < w.rpm; i++) yield* limiter.reserve(m, each)
        assert.isTrue(Either.isLeft(yield* Effect.either(limiter.reserve(m, 1))))
      }).pipe(Effect.provide(testLayer)),
    { fastCheck: { numRuns: 150 } }
  )

  it.effect.prop(
    "settle and release never drive usage negative or count a reservation twice",
    [workload],
    ([w]) =>
      Effect.gen(function* () {
        const { accepted, limiter, m, now } = yield* run(w, false)
        const view = yield* limiter.headroom(m, 0)
        const expected = expectedView(accepted, now)
        assert.isAtLeast(view.requestsUsed, 0)
        assert.isAtLeast(view.tokensUsed, 0)
        assert.strictEqual(view.requestsUsed, expected.requests)
        assert.strictEqual(view.tokensUsed, expected.tokens)
        // settling or releasing a closed reservation again changes nothing
        for (const a of accepted.filter((a) => a.closed)) {
          yield* limiter.settle(a.reservation, 0)
          yield* limiter.release(a.reservation)
        }
        const again = yield* limiter.headroom(m, 0)
        assert.deepStrictEqual([again.requestsUsed, again.tokensUsed], [view.requestsUsed, view.tokensUsed])
      }).pipe(Effect.provide(testLayer)),
    { fastCheck: { numRuns: 150 } }
  )
})
