/**
 * `server.maxConnections` on `modelgate serve`: past the cap a new connection
 * is closed at once, unanswered, while the open ones are still served; a
 * flood of refused connections is logged once (a warning), and the end of the
 * episode once (how many were refused); below the cap again, new connections
 * are served.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Logger, LogLevel, Schedule, Scope } from "effect"
import { echoGateway } from "./support/Doubles.js"
import { connect, type Raw, serveWith } from "./support/Served.js"

const bound = "1 second"
const health = "GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"

/** Ask `raw` for `/health` and wait for its `nth` answer on that connection. */
const served = (raw: Raw, nth: number) =>
  Effect.gen(function* () {
    raw.socket.write(health)
    return yield* raw.waitFor("HTTP/1.1 200 OK", nth).pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => `no answer; received: ${raw.received()}` }))
  })

const watched = () => {
  const logs: Array<string> = []
  const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
    const text = String(message)
    if (text.includes("maxConnections")) logs.push(`${logLevel.label} ${text}`)
  })
  return { logs, logger: Logger.replace(Logger.defaultLogger, logger) }
}

describe("server.maxConnections", () => {
  it.live("past the cap new connections are closed unanswered, the open ones are served, and the flood is logged once", () =>
    Effect.gen(function* () {
      const { logger, logs } = watched()
      const server = yield* serveWith(echoGateway, { maxConnections: 2 }).pipe(Effect.provide(logger))
      const first = yield* connect(server.port)
      const second = yield* connect(server.port)
      yield* served(first, 1)
      yield* served(second, 1)

      const refused = yield* Effect.forEach(Array.from({ length: 8 }), () =>
        Effect.flatMap(connect(server.port, health), (raw) =>
          raw.closed.pipe(Effect.timeoutFail({ duration: bound, onTimeout: () => "a connection past the cap stayed open" }))), { concurrency: 4 })
      assert.deepStrictEqual(refused, Array.from({ length: 8 }, () => ""), "closed without an answer")

      // The connections under the cap are still served.
      yield* served(first, 2)
      yield* served(second, 2)
      assert.strictEqual(logs.filter((l) => l.startsWith("WARN")).length, 1, logs.join("\n"))
      assert.match(logs[0]!, /^WARN 2 connections are open \(server\.maxConnections\)/)

      // Once one closes, a new connection is served (retried while the server has not yet seen the close).
      first.socket.destroy()
      const next = yield* Effect.flatMap(connect(server.port), (raw) => served(raw, 1).pipe(Effect.as(raw))).pipe(
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.compose(Schedule.recurs(50))))
      )
      assert.strictEqual(logs.filter((l) => l.startsWith("WARN")).length, 1, logs.join("\n"))
      const over = logs.filter((l) => l.startsWith("INFO"))
      assert.strictEqual(over.length, 1, logs.join("\n"))
      const count = Number(/(\d+) connection\(s\) refused/.exec(over[0]!)?.[1])
      assert.isAtLeast(count, 8, over[0])

      next.socket.destroy()
      second.socket.destroy()
      yield* Scope.close(server.scope, Exit.void).pipe(Effect.provide(logger))
    }).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Info))))
})
