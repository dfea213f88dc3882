/**
 * The ResponseEvaluator over GatewayLive and the fakes (README, DESIGN.md:
 * "ResponseEvaluator.evaluate (if enabled)" after every answer): a complete
 * answer that needed a failover is scored once, for the model that answered;
 * a streamed answer is scored when it ends; a cache hit is not scored again;
 * with `evaluator.enabled: false` nothing is scored or stored.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import Database from "better-sqlite3"
import { Effect, Stream } from "effect"
import { ask, stack } from "./fixture.js"

const qualityRows = (db: string) => {
  const conn = new Database(db, { readonly: true })
  try {
    return conn.prepare("SELECT request_id, model FROM quality_scores ORDER BY at, id").all() as Array<{ request_id: string; model: string }>
  } finally {
    conn.close()
  }
}

const evaluator = (enabled: boolean) => ({ enabled })

/** A failed-over answer, a streamed one, then a cache hit of the first; the ids of the first two. */
const threeAnswers = (s: Effect.Effect.Success<ReturnType<typeof stack>>) =>
  Effect.gen(function* () {
    const gateway = yield* Gateway
    yield* s.openai.persist(Fault.status(500))
    const failedOver = yield* gateway.complete(ask("Name a colour of the sky"), defaultRequirements)
    assert.strictEqual(failedOver.meta.failovers, 1)
    yield* s.openai.persist(undefined)
    const streamed = yield* gateway.stream(ask("Name a fruit", "gpt-4o-mini", { stream: true }), defaultRequirements)
    yield* Stream.runDrain(streamed.chunks)
    // The failed-over answer is cached as its model's (claude-haiku's) answer.
    const hit = yield* gateway.complete(ask("Name a colour of the sky", "claude-haiku"), defaultRequirements)
    assert.isTrue(hit.meta.cacheHit)
    return [failedOver.meta, streamed.meta] as const
  })

describe("ResponseEvaluator over GatewayLive", () => {
  it.scopedLive("scores each answer once: not per failover attempt, streams at their end, never a cache hit", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: true, cacheNonDeterministic: true }, evaluator: evaluator(true) } })
      const [first, second] = yield* threeAnswers(s).pipe(Effect.provide(s.layer))
      assert.strictEqual(first.model, "claude-haiku")
      // The layer is closed: the record writer flushed on the way out.
      assert.deepStrictEqual(qualityRows(s.db).map((r) => [r.request_id, r.model]), [
        [first.requestId, "claude-haiku"],
        [second.requestId, "gpt-4o-mini"]
      ])
    }))

  it.scopedLive("evaluator.enabled false: nothing is scored or stored", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: true, cacheNonDeterministic: true }, evaluator: evaluator(false) } })
      yield* threeAnswers(s).pipe(Effect.provide(s.layer))
      assert.deepStrictEqual(qualityRows(s.db), [])
    }))
})
