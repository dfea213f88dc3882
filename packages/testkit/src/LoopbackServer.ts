/**
 * A bare node:http server on 127.0.0.1 (a random port) for tests of HTTP
 * clients: it records every request, answers through the test's handler, and
 * tells when the n-th request arrived and whether its connection closed before
 * its answer ended (how a test sees that a client aborted a request).
 * Started as a scoped Effect; closes (connections included) with its scope.
 *
 * ```ts
 * const server = yield* LoopbackServer.make((request, res) => {
 *   if (request.path === "/ok") res.writeHead(200).end("ok") // anything else: no answer
 * })
 * const fiber = yield* Effect.fork(callTheClient(`${server.url}/hang`))
 * yield* server.arrived(1)
 * yield* Fiber.interrupt(fiber)
 * assert.strictEqual(yield* server.closed(1), "closed")
 * ```
 */
import { Clock, Deferred, Effect, Exit, FiberId, type Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** A request as the server received it. */
export interface LoopbackRequest {
  readonly method: string
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** Answers a request whose body has been read (or leaves it unanswered). */
export type Handler = (request: LoopbackRequest, res: Http.ServerResponse) => void

/** A running loopback server. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string
  /** Every request so far, in arrival order (a body is "" until it was read). */
  readonly requests: ReadonlyArray<LoopbackRequest>
  /** Completes when the `n`-th request (1-based) arrived and its body was read. */
  readonly arrived: (n: number) => Effect.Effect<void>
  /**
   * "closed" once the `n`-th request's connection closed before its answer
   * ended; "open" if it has not after `giveUpMs` of real time (default 10 s:
   * a bound on a failing test only, as an abort is seen at once when it works).
   */
  readonly closed: (n: number, giveUpMs?: number) => Effect.Effect<"closed" | "open">
}

const live = Clock.make()

/** Start a loopback server answering with `handle`; it closes with the scope. */
export const make = (handle: Handler): Effect.Effect<LoopbackServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const arrivals: Array<Deferred.Deferred<void>> = []
    const closes: Array<Deferred.Deferred<void>> = []
    const slot = <A>(list: Array<Deferred.Deferred<A>>, n: number) => (list[n - 1] ??= Deferred.unsafeMake<A>(FiberId.none))
    const requests: Array<{ method: string; path: string; headers: Http.IncomingHttpHeaders; body: string }> = []
    const server = Http.createServer((req, res) => {
      const n = requests.length + 1
      const parts: Array<Buffer> = []
      res.on("close", () => {
        if (!res.writableFinished) Deferred.unsafeDone(slot(closes, n), Exit.void)
      })
      const request = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: "" }
      requests.push(request)
      req.on("data", (part: Buffer) => parts.push(part))
      req.on("end", () => {
        request.body = Buffer.concat(parts).toString("utf8")
        Deferred.unsafeDone(slot(arrivals, n), Exit.void)
        handle(request, res)
      })
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const { port } = server.address() as AddressInfo
    return {
      url: `http://127.0.0.1:${port}`,
      requests,
      arrived: (n) => Deferred.await(slot(arrivals, n)),
      closed: (n, giveUpMs = 10_000) =>
        Deferred.await(slot(closes, n)).pipe(
          Effect.timeoutTo({ duration: giveUpMs, onSuccess: (): "closed" | "open" => "closed", onTimeout: () => "open" as const }),
          Effect.withClock(live)
        )
    } satisfies LoopbackServer
  })
