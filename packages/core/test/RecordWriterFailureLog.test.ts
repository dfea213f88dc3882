/**
 * What the record writer logs while its store keeps failing: one warning when
 * writes start failing (the error, the records waiting), a reminder at most
 * every 5 minutes (records waiting, attempts so far), one info line when
 * writes recover (how long, how many attempts); not one line per retry.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref, TestClock } from "effect"
import { cost } from "./RecordFixtures.js"
import { setup, withLogs } from "./RecordWriterStack.js"

/** The writer's lines about failing and recovering writes. */
const writeLines = (logs: ReadonlyArray<string>) => logs.filter((line) => line.includes("record writes"))

describe("RecordWriter logs of a failing store", () => {
  it.scoped("12 minutes of failures: one warning, two reminders, one line on recovery", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const broken = yield* Ref.make(true)
        const calls = yield* Ref.make(0)
        const t = yield* setup({ records: { flushIntervalMs: 250, batchSize: 100 } }, broken, Ref.update(calls, (n) => n + 1))
        yield* Effect.forEach([cost(1), cost(2), cost(3)], t.sink.offer)
        yield* TestClock.adjust("250 millis")
        assert.deepStrictEqual(writeLines(yield* Ref.get(logs)), [
          "WARN record writes failing: store write failed: SQLITE_FULL: database or disk is full; 3 records waiting in memory; retrying, with a reminder every 5m while it lasts"
        ])

        for (let i = 0; i < 72; i++) yield* TestClock.adjust("10 seconds")
        const failing = writeLines(yield* Ref.get(logs))
        assert.strictEqual(failing.length, 3, failing.join("\n"))
        const reminders = failing.slice(1).map((line) => /^WARN record writes still failing after (\d+)m(?: [^:]*)?: store write failed: SQLITE_FULL: database or disk is full; 3 records waiting in memory; (\d+) attempts so far$/.exec(line))
        assert.deepStrictEqual(reminders.map((m) => m?.[1]), ["5", "10"], failing.join("\n"))
        const attemptsSoFar = reminders.map((m) => Number(m?.[2]))
        assert.isTrue(attemptsSoFar[0]! > 1 && attemptsSoFar[1]! > attemptsSoFar[0]!, failing.join("\n"))

        yield* Ref.set(broken, false)
        yield* TestClock.adjust("1 minute")
        const failed = (yield* Ref.get(calls)) - 1
        const all = writeLines(yield* Ref.get(logs))
        assert.strictEqual(all.length, 4, all.join("\n"))
        assert.match(all[3]!, new RegExp(`^INFO record writes recovered after 12m [^(]*of failures \\(${failed} attempts failed\\)$`))
        assert.strictEqual((yield* t.stored).length, 3)
      })
    ))

  it.scoped("a new run of failures after a recovery is announced again", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const broken = yield* Ref.make(true)
        const t = yield* setup({ records: { flushIntervalMs: 250, batchSize: 100 } }, broken)
        yield* t.sink.offer(cost(1))
        yield* TestClock.adjust("250 millis")
        yield* Ref.set(broken, false)
        yield* TestClock.adjust("1 second")
        yield* Ref.set(broken, true)
        yield* t.sink.offer(cost(2))
        yield* TestClock.adjust("250 millis")
        const lines = writeLines(yield* Ref.get(logs))
        assert.strictEqual(lines.length, 3, lines.join("\n"))
        assert.match(lines[0]!, /^WARN record writes failing: store write failed: SQLITE_FULL[^;]*; 1 record waiting in memory;/)
        assert.match(lines[1]!, /^INFO record writes recovered after \d+ms of failures \(1 attempt failed\)$/)
        assert.match(lines[2]!, /^WARN record writes failing: store write failed: SQLITE_FULL[^;]*; 1 record waiting in memory;/)
        assert.strictEqual((yield* t.stored).length, 1)
      })
    ))
})
