/**
 * A client that goes away in the middle of its upload (reset or FIN with
 * the body incomplete): no request reaches the core, and nothing is logged
 * as an error or a defect, on either server.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { Context, Effect, Exit, Layer, Logger, LogLevel, Scope } from "effect"
import { chatBody } from "./support/Client.js"
import { echoGateway, serverLayer } from "./support/Doubles.js"
import { chatHead, connect, serveWith } from "./support/Served.js"

const body = JSON.stringify(chatBody({ messages: [{ role: "user", content: "x".repeat(4_000) }] }))

/** Send the head and part of the body, then leave (`reset`: RST; else FIN) after `turns` event-loop turns. */
const leave = (port: number, part: number, how: "reset" | "end", turns: number) =>
  Effect.flatMap(connect(port, `${chatHead(`content-length: ${Buffer.byteLength(body)}`)}${body.slice(0, part)}`), (raw) =>
    Effect.async<void>((resume) => {
      const go = (n: number): void => {
        if (n > 0) return void setImmediate(() => go(n - 1))
        if (how === "reset") raw.socket.resetAndDestroy()
        else raw.socket.end()
        resume(Effect.void)
      }
      go(turns)
    }).pipe(Effect.zipRight(raw.closed)))

const watched = () => {
  const seen = { calls: 0, logs: [] as Array<string> }
  const gateway = Gateway.of({
    complete: (...args) => Effect.suspend(() => (++seen.calls, echoGateway.complete(...args))),
    stream: (...args) => Effect.suspend(() => (++seen.calls, echoGateway.stream(...args)))
  })
  const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
    if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) seen.logs.push(`${logLevel.label} ${String(message)}`)
  })
  return { gateway, seen, logger: Logger.replace(Logger.defaultLogger, logger) }
}

const abortAll = (port: number) =>
  Effect.forEach(
    Array.from({ length: 24 }, (_, i) => i),
    (i) => leave(port, [0, 100, 3_000][i % 3]!, i % 2 === 0 ? "reset" : "end", i % 4),
    { concurrency: 6 }
  )

const check = (seen: { calls: number; logs: Array<string> }) => {
  assert.isTrue(seen.logs.some((l) => l.includes("MODELGATE_MASTER_KEY")), "the server logs through the watching logger")
  assert.strictEqual(seen.calls, 0, "no incomplete request reached the core")
  assert.deepStrictEqual(seen.logs.filter((l) => !l.includes("MODELGATE_MASTER_KEY")), [], "nothing logged as an error")
}

describe("a client leaving mid-upload", () => {
  it.live("modelgate serve: no request reaches the core, nothing is logged", () =>
    Effect.gen(function* () {
      const { gateway, logger, seen } = watched()
      const server = yield* serveWith(gateway).pipe(Effect.provide(logger))
      yield* abortAll(server.port)
      yield* Scope.close(server.scope, Exit.void).pipe(Effect.provide(logger))
      check(seen)
    }))

  it.live("HttpApp.layer: no request reaches the core, nothing is logged", () =>
    Effect.gen(function* () {
      const { gateway, logger, seen } = watched()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(serverLayer(gateway), scope).pipe(Effect.provide(logger))
      const address = Context.get(context, HttpServer.HttpServer).address
      yield* abortAll(address._tag === "TcpAddress" ? address.port : 0)
      yield* Scope.close(scope, Exit.void).pipe(Effect.provide(logger))
      check(seen)
    }))
})
