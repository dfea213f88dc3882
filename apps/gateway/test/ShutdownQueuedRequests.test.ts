/**
 * SIGTERM while chat requests wait in the gateway's queue: `HttpApp.serve`
 * hands each request its drain (`RequestOptions.closing`), so a request
 * still waiting for a candidate is answered at once, 503 `shutting_down`
 * (it was never sent: the client retries on another instance), and the
 * shutdown does not sit out `server.shutdownGraceMs` for it only to cut its
 * connection unanswered. Complete and streamed requests alike.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { ShuttingDown } from "@modelgate/domain/Errors"
import { Context, Effect, Exit, Fiber, Layer, Queue, Scope, TestServices } from "effect"
import * as HttpApp from "../src/HttpApp.js"
import { chatBody } from "./support/Client.js"
import { endsWithClockStill } from "./support/ClockStill.js"
import { services } from "./support/Doubles.js"

/** A gateway whose every request waits in its queue (as the real one's does) until its server closes, then fails as the queue fails it. */
const queued = (waiting: Queue.Queue<void>): Gateway["Type"] => {
  const wait = (closing: Effect.Effect<void> | undefined) =>
    Queue.offer(waiting, undefined).pipe(
      Effect.zipRight(closing ?? Effect.never),
      Effect.zipRight(Effect.fail(new ShuttingDown({ waitedMs: 0, reason: "gpt-test: rate limited" })))
    )
  return Gateway.of({
    complete: (_request, _r, options) => wait(options?.closing),
    stream: (_request, _r, options) => wait(options?.closing)
  })
}

const chat = (url: string, stream: boolean) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chatBody({ stream })) }).then(
      async (r) => ({ status: r.status, body: await r.text() }),
      (e: unknown) => ({ status: 0, body: String(e) })
    )
  )

describe("shutdown with requests in the queue", () => {
  it.effect("queued requests are answered 503 shutting_down at once; the shutdown does not wait out its grace for them", () =>
    Effect.gen(function* () {
      const waiting = yield* Queue.unbounded<void>()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(services(queued(waiting), { shutdownGraceMs: 10_000 }))),
        scope
      )
      const address = Context.get(context, HttpServer.HttpServer).address
      const url = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
      const clients = yield* Effect.forEach([false, true], (stream) => Effect.fork(TestServices.provideLive(chat(url, stream))))
      yield* Queue.takeN(waiting, 2)
      // The grace period is on the TestClock, which stands still: only the queued requests' answers end the drain.
      yield* endsWithClockStill(Scope.close(scope, Exit.void), "shutdown with requests waiting in the queue")
      for (const client of clients) {
        const answer = yield* Fiber.join(client)
        assert.strictEqual(answer.status, 503, answer.body)
        const body = JSON.parse(answer.body) as { error: { code: string; message: string } }
        assert.strictEqual(body.error.code, "shutting_down")
        assert.include(body.error.message, "shutting down")
        assert.include(body.error.message, "not sent")
      }
    }))
})
