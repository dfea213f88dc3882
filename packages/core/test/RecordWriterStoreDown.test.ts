/**
 * The record writer while its store fails (disk full, I/O error) and its cost
 * queue is full: back-pressure is logged once per episode, not once per
 * waiting record, and at most once a minute while episodes recur; a scope closed meanwhile counts every record it could not
 * write (those that were waiting for room included) in one error; a write
 * that dies is retried like a failed one instead of stopping the writer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Ref, Scope, TestClock } from "effect"
import { cost, health } from "./RecordFixtures.js"
import { count, setup as setupWith, withLogs } from "./RecordWriterStack.js"
import type { RecordsConfig } from "@modelgate/core/GatewayConfigSchema"

/** A writer with these `records` settings over a memory store that fails while `broken` (or runs `before` each write). */
const setup = (records: Partial<typeof RecordsConfig.Type>, broken: Ref.Ref<boolean>, before?: Effect.Effect<void>) =>
  setupWith({ records }, broken, before)

describe("RecordWriter while the store fails", () => {
  it.scoped("a full cost queue logs back-pressure once, not once per waiting record; nothing is lost or doubled", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const broken = yield* Ref.make(true)
        const t = yield* setup({ flushIntervalMs: 250, batchSize: 100, queueCapacity: 2 }, broken)
        const offering = yield* Effect.fork(Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => t.sink.offer(cost(i)), { concurrency: "unbounded" }))
        yield* TestClock.adjust("250 millis")
        yield* TestClock.adjust("10 seconds")
        assert.strictEqual(count(yield* Ref.get(logs), "back-pressure"), 1, (yield* Ref.get(logs)).join("\n"))

        yield* Ref.set(broken, false)
        yield* TestClock.adjust("1 minute")
        yield* Fiber.join(offering)
        yield* Scope.close(t.scope, Exit.void)
        const ats = (yield* t.stored).map((r) => r.at).sort((a, b) => a - b)
        assert.deepStrictEqual(ats, Array.from({ length: 20 }, (_, i) => i))
      })
    ))

  it.scoped("sustained back-pressure (records arrive faster than batches are written) is logged at most once a minute, counting the episodes", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const broken = yield* Ref.make(false)
        const slow = yield* Ref.make(true)
        // Two records a second arrive; a batch of two takes two seconds to write while `slow`.
        const t = yield* setup({ flushIntervalMs: 250, batchSize: 2, queueCapacity: 2 }, broken, Effect.flatMap(Ref.get(slow), (s) => (s ? Effect.sleep("2 seconds") : Effect.void)))
        const arriving = yield* Effect.fork(Effect.forEach(Array.from({ length: 260 }, (_, i) => i), (i) => Effect.zipRight(Effect.sleep("500 millis"), Effect.forkScoped(t.sink.offer(cost(i)))), { discard: true }))
        for (let i = 0; i < 130; i++) yield* TestClock.adjust("1 second")
        yield* Fiber.join(arriving)
        const lines = (yield* Ref.get(logs)).filter((line) => line.includes("back-pressure"))
        assert.strictEqual(lines.length, 3, lines.join("\n"))
        assert.notInclude(lines[0]!, "times")
        assert.match(lines[1]!, /\((\d+) times in the last 1m/, lines.join("\n"))
        yield* Ref.set(slow, false)
        yield* TestClock.adjust("1 minute")
        yield* Scope.close(t.scope, Exit.void)
        assert.strictEqual((yield* t.stored).length, 260, "nothing lost or doubled")
      })
    ))

  it.scoped("sustained drops of non-cost records are logged at most once a minute, and what is left at close", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const broken = yield* Ref.make(false)
        // Four health records a second arrive; a batch of two takes a second to write.
        const t = yield* setup({ flushIntervalMs: 250, batchSize: 2, queueCapacity: 2 }, broken, Effect.sleep("1 second"))
        const arriving = yield* Effect.fork(Effect.forEach(Array.from({ length: 520 }, (_, i) => i), (i) => Effect.zipRight(Effect.sleep("250 millis"), t.sink.offer(health(i))), { discard: true }))
        for (let i = 0; i < 130; i++) yield* TestClock.adjust("1 second")
        yield* Fiber.join(arriving)
        const drops = (lines: ReadonlyArray<string>) => lines.filter((line) => line.includes("oldest non-cost records"))
        assert.strictEqual(drops(yield* Ref.get(logs)).length, 3, `${JSON.stringify(yield* t.writer.stats)} ${(yield* Ref.get(logs)).join("\n")}`)
        const closing = yield* Effect.fork(Scope.close(t.scope, Exit.void))
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(closing)
        const all = drops(yield* Ref.get(logs))
        const counted = all.map((line) => Number(/dropped the (\d+) oldest/.exec(line)?.[1]))
        const dropped = (yield* t.writer.stats).dropped
        assert.strictEqual(counted.reduce((a, b) => a + b, 0), dropped, all.join("\n"))
        assert.include(all.at(-1)!, `(${dropped} in all)`)
      })
    ))

  it.scoped("closing the scope while the store fails counts every unwritten record, those waiting for room too", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const broken = yield* Ref.make(true)
        const t = yield* setup({ flushIntervalMs: 250, batchSize: 100, queueCapacity: 2 }, broken)
        const offering = yield* Effect.fork(Effect.forEach(Array.from({ length: 6 }, (_, i) => i), (i) => t.sink.offer(cost(i)), { concurrency: "unbounded" }))
        yield* TestClock.adjust("250 millis")
        yield* TestClock.adjust("1 second")
        const closing = yield* Effect.fork(Scope.close(t.scope, Exit.void))
        for (let i = 0; i < 40; i++) yield* TestClock.adjust("1 second")
        yield* Fiber.join(closing)
        yield* Fiber.join(offering)
        const lines = yield* Ref.get(logs)
        const stopped = lines.filter((line) => line.includes("unwritten records"))
        assert.deepStrictEqual(stopped.map((line) => /with (\d+) unwritten/.exec(line)?.[1]), ["6"], lines.join("\n"))
        assert.strictEqual(count(lines, "lost"), 0, lines.join("\n"))
        assert.strictEqual((yield* t.stored).length, 0)
        const stats = yield* t.writer.stats
        assert.strictEqual(stats.queuedCosts, 0)
        assert.strictEqual(yield* t.writer.unwrittenAtClose, 6, "a host (serve) can tell records were lost")
      })
    ))

  it.scoped("a store write that dies (a defect) is logged and retried like a failure: the writer keeps writing", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const broken = yield* Ref.make(false)
        const deaths = yield* Ref.make(1)
        const dieOnce = Effect.flatMap(Ref.getAndUpdate(deaths, (n) => n - 1), (n) => (n > 0 ? Effect.dieMessage("driver bug") : Effect.void))
        const t = yield* setup({ flushIntervalMs: 250, batchSize: 100 }, broken, dieOnce)
        yield* t.sink.offer(cost(1))
        yield* TestClock.adjust("250 millis")
        assert.strictEqual((yield* t.stored).length, 0)
        assert.isTrue((yield* t.writer.stats).degraded)
        assert.include((yield* Ref.get(logs)).join("\n"), "driver bug")
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual((yield* t.stored).map((r) => r.at), [1], "the batch is retried and written")
        yield* t.sink.offer(cost(2))
        yield* TestClock.adjust("250 millis")
        assert.deepStrictEqual((yield* t.stored).map((r) => r.at), [1, 2], "later records are written on their interval")
        assert.strictEqual((yield* t.writer.stats).pending, 0)
      })
    ))
})
