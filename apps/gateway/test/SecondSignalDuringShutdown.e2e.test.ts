/**
 * A second SIGTERM / SIGINT while the gateway is already draining (Ctrl-C in a
 * terminal under `npm start` delivers SIGINT to both npm and node, and npm
 * forwards its own: node gets two; an impatient operator or a supervisor
 * repeats the signal). The first signal started a graceful shutdown; the
 * second must not kill the process by the default signal action, which
 * would cut the in-flight requests and lose every record still queued.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { hangAfterMs, settles, until } from "./support/HangDetector.js"
import { chat, costRows, ensureBuilt, serve, overFakes, unreachableProviders } from "./support/ServeProcess.js"
import { accepts } from "./support/Tcp.js"

const HELD = 5

describe.each(["SIGTERM", "SIGINT"] as const)("a second %s during shutdown", (signal) => {
  beforeAll(ensureBuilt, 120_000)

  it.scopedLive("still drains the in-flight requests, writes their cost records and exits 0", () =>
    Effect.gen(function* () {
      const { anthropic, db, dir, openai } = yield* overFakes("modelgate-second-signal-")
      const served = yield* serve({
        dir,
        db,
        openaiUrl: openai.baseUrl,
        anthropicUrl: anthropic.url,
        gateway: {
          providers: unreachableProviders(10 * hangAfterMs),
          server: { shutdownGraceMs: 10 * hangAfterMs },
          healthCheck: { enabled: false },
          cache: { enabled: false },
          // records wait in the queue: only the final flush writes them
          records: { flushIntervalMs: 60_000, batchSize: 10_000 }
        }
      })
      const warm = yield* settles("warm requests", () => Promise.all([0, 1, 2].map((i) => chat(served.url, i))), served.tail)
      assert.deepStrictEqual(warm.map((o) => o.status), [200, 200, 200], served.tail())

      const gate = yield* Effect.makeLatch(false)
      yield* openai.persist(Fault.hold(gate))
      const inFlight = Promise.all(Array.from({ length: HELD }, (_, i) => chat(served.url, 100 + i)))
      yield* openai.awaitHeld(HELD, hangAfterMs)

      served.child.kill(signal)
      yield* until("the port to close after the first signal", Effect.map(accepts(served.port), (open) => (open ? undefined : true)), served.tail)
      served.child.kill(signal)
      // the second signal has landed (the gateway says so) before the held answers leave
      yield* until("the second signal to land", Effect.sync(() => (served.output().includes("received again") ? true : undefined)), served.tail)
      yield* gate.open

      const drained = yield* settles("the held requests", () => inFlight, served.tail)
      const exit = yield* settles("the process to exit", () => served.exited, served.tail)
      assert.deepStrictEqual(exit, { code: 0, signal: null }, `exit${served.tail()}`)
      assert.deepStrictEqual(drained.map((o) => o.status), drained.map(() => 200), served.tail())

      const rows = costRows(db)
      const ids = [...warm, ...drained].map((o) => o.requestId!)
      assert.deepStrictEqual(ids.filter((id) => rows.get(id) !== 1), [], `answered requests without exactly one cost row${served.tail()}`)
    }), 10 * hangAfterMs)
})
