/**
 * The record writer's final flush is bounded by `server.shutdownGraceMs`: a
 * store write that never returns (a hung fsync on the write thread cannot be
 * interrupted) no longer holds the scope's close, and so the process, forever.
 * What the writer cannot vouch for is counted exactly: the batch being
 * written is "not known to be written", the queued records are not written.
 */
import { assert, describe, it } from "@effect/vitest"
import { HealthCheckRecord } from "@modelgate/domain/Records"
import { Deferred, Effect, Exit, Fiber, Option, Ref, Scope, TestClock } from "effect"
import { cost } from "./RecordFixtures.js"
import { count, setup, withLogs } from "./RecordWriterStack.js"

const health = (i: number) => HealthCheckRecord.make({ at: i, model: "m1", ok: true, latencyMs: 10, source: "probe" })

describe("RecordWriter final flush bound", () => {
  it.scoped("a write that never returns: close ends after server.shutdownGraceMs, naming the records not known to be written", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const hang = yield* Ref.make(false)
        const never = yield* Deferred.make<void>()
        const broken = yield* Ref.make(false)
        const t = yield* setup(
          { records: { flushIntervalMs: 250, batchSize: 100 }, server: { shutdownGraceMs: 10_000 } },
          broken,
          Effect.flatMap(Ref.get(hang), (h) => (h ? Deferred.await(never) : Effect.void))
        )
        yield* t.sink.offer(cost(0))
        yield* TestClock.adjust("250 millis")
        assert.deepStrictEqual((yield* t.stored).map((r) => r.at), [0])

        yield* Ref.set(hang, true)
        yield* Effect.forEach([cost(1), health(2)], t.sink.offer)
        yield* TestClock.adjust("250 millis")
        yield* Effect.forEach([cost(3), cost(4), health(5)], t.sink.offer)
        assert.strictEqual((yield* t.writer.stats).pending, 5)

        const closing = yield* Effect.fork(Scope.close(t.scope, Exit.void))
        yield* TestClock.adjust("9999 millis")
        assert.isTrue(Option.isNone(yield* Fiber.poll(closing)), "the flush is waited for up to the grace")
        yield* TestClock.adjust("1 millis")
        assert.isTrue(Option.isSome(yield* Fiber.poll(closing)), "the close ends once the grace has passed")

        const lines = yield* Ref.get(logs)
        assert.deepStrictEqual(lines.filter((line) => line.startsWith("ERROR")), [
          "ERROR record writer: the final flush did not finish within 10000 ms (server.shutdownGraceMs); 5 records are not known to be written (3 cost records): 2 in the batch being written, which may or may not be committed, and 3 queued, not written"
        ])
        assert.strictEqual(count(lines, "lost"), 0, lines.join("\n"))
        assert.strictEqual(yield* t.writer.unwrittenAtClose, 5)
        assert.deepStrictEqual((yield* t.stored).map((r) => r.at), [0])

        const late = yield* Effect.fork(t.sink.offer(cost(6)))
        yield* Effect.yieldNow()
        assert.isTrue(Option.isSome(yield* Fiber.poll(late)), "a record offered after that is not waited for behind the stuck write")
        assert.strictEqual(count(yield* Ref.get(logs), "ERROR late CostRecord not written"), 1)
      })
    ))

  it.scoped("a final flush within the bound writes everything and leaves nothing unwritten", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const broken = yield* Ref.make(false)
        const t = yield* setup({ records: { flushIntervalMs: 250, batchSize: 100 }, server: { shutdownGraceMs: 10_000 } }, broken)
        yield* Effect.forEach([cost(1), health(2)], t.sink.offer)
        yield* Scope.close(t.scope, Exit.void)
        assert.deepStrictEqual((yield* t.stored).map((r) => r.at), [1, 2])
        assert.strictEqual(yield* t.writer.unwrittenAtClose, 0)
        assert.strictEqual(count(yield* Ref.get(logs), "ERROR"), 0)
      })
    ))
})
