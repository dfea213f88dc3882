/**
 * The gateway's HTTP server as layers: `layer` serves the app on whatever
 * `HttpServer` is provided; `serve(options)` also builds the Node listener and
 * shuts it down gracefully (stop accepting, finish in-flight requests within
 * `server.shutdownGraceMs`, then close).
 *
 * ```ts
 * const Main = HttpApp.serve({ port: 8787 }).pipe(Layer.provide(GatewayLive))
 * NodeRuntime.runMain(Layer.launch(Main))
 * ```
 */
import { HttpMiddleware, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { clientAbortFiberId, type ServeError } from "@effect/platform/HttpServerError"
import { NodeHttpServer } from "@effect/platform-node"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import type { ServerTimeouts } from "@modelgate/core/GatewayConfigSchema"
import { Context, Deferred, Duration, Effect, Exit, type Fiber, FiberId, Layer, Runtime } from "effect"
import type * as Http from "node:http"
import { ApiError, toResponse } from "./http/ApiError.js"
import * as ConnectionCap from "./http/ConnectionCap.js"
import * as Cors from "./http/Cors.js"
import { type Claim, DispatchServer, endsWithConnection } from "./http/NodeDispatch.js"
import { nodeResponse } from "./http/NodeWrite.js"
import * as Router from "./http/Router.js"
import * as WriteStall from "./http/WriteStall.js"

export type { AppServices } from "./http/Router.js"

/** Hooks around the drain on shutdown (the Node listener is closed by `serve`), and the Node server when `serve` built it. */
interface DrainHooks {
  readonly stopAccepting: Effect.Effect<void>
  readonly forceClose: Effect.Effect<void>
  /** The hot route is claimed on it, below the platform's per-request pipeline. */
  readonly server?: DispatchServer | undefined
}

const noHooks: DrainHooks = { stopAccepting: Effect.void, forceClose: Effect.void }

const shuttingDown = new ApiError({
  status: 503,
  type: "service_unavailable",
  code: "shutting_down",
  message: "the gateway is shutting down; retry on another instance"
})

const longLived = (url: string) => url.startsWith("/v1/events")

const serveApp = (hooks: DrainHooks) =>
  Effect.gen(function* () {
    const closing = yield* Deferred.make<void>()
    const { app, hot, refuseUnread, requestId, serveNode } = yield* Router.makeRoutes({ closing: Deferred.await(closing) })
    const settings = (yield* (yield* GatewayConfig).get).server
    const grace = settings.shutdownGraceMs
    // Read once, as the body limit: `undefined` (the default) costs one check per request.
    const cors = Cors.make(settings.cors)
    // On a host's own server (`layer`) a connection is watched from its first request here; `serve` watches its own
    // server's every connection as it is accepted.
    const stall = hooks.server === undefined ? yield* WriteStall.make(settings.timeouts.writeStallMs) : undefined
    let inFlight = 0
    let draining = false
    let idle: Deferred.Deferred<void> | undefined
    // A plain fiber observer rather than `Effect.ensuring`: no Effect steps per request.
    const done = () => {
      inFlight--
      if (inFlight === 0 && idle !== undefined) Deferred.unsafeDone(idle, Exit.void)
    }
    // A request counts until its fiber ends, and its fiber must end when its connection does.
    // The platform runs the response write uninterruptibly and interrupts on close only while the
    // response is not ended: a connection that closes after the handler answered but before the
    // write (or whose write never finishes) would leave the fiber, and the count, waiting forever.
    // So the fiber is interrupted on close unless the answer was fully written ('finish'):
    // `writableFinished` is no proof, it is also true when `end()` wrote into an already
    // destroyed socket, whose 'finish' (and `end` callback) never comes.
    const watch = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, response: Http.ServerResponse | undefined) => {
      inFlight++
      fiber.addObserver(done)
      if (response === undefined) return
      let finished = false
      response.once("finish", () => {
        finished = true
      })
      response.once("close", () => {
        if (!finished) fiber.unsafeInterruptAsFork(clientAbortFiberId)
      })
    }
    // A long-lived stream (`/v1/events`) ends once `closing` completes; it counts until its response is done
    // ('finish': its last chunk handed to the socket, or 'close'), so that shutdown closes its connection only after
    // the stream ended cleanly (a connection cut mid-response is an error to its client and to proxies). Its
    // connection is closed then, while other requests may still finish: a client reconnecting over it would be
    // answered the draining 503, and a browser's `EventSource` answered anything but 200 never reconnects.
    const watchStream = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, response: Http.ServerResponse | undefined) => {
      inFlight++
      if (response === undefined) {
        fiber.addObserver(done)
        return
      }
      // Taken now: Node detaches the socket from the response as it finishes.
      const socket = response.socket
      let counted = true
      const release = () => {
        if (!counted) return
        counted = false
        if (draining) socket?.end()
        done()
      }
      response.once("finish", release)
      response.once("close", release)
    }
    // On any HttpServer the hot route (`POST /v1/chat/completions`) is served here, before the router.
    const track = HttpMiddleware.make((inner) =>
      Effect.withFiberRuntime((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        if (draining) {
          return Effect.succeed(toResponse(shuttingDown, { connection: "close", "x-request-id": requestId(request.headers["x-request-id"]) }))
        }
        if (stall !== undefined) {
          const res = nodeResponse(request)
          if (res !== undefined) {
            // A pipelined request's response waits for its socket: it must end if the connection closes first, as
            // under `serve` (whose server hooks it at Node's `request` event).
            if (res.socket === null) endsWithConnection(NodeHttpServerRequest.toIncomingMessage(request), res)
            else stall(res.socket)
          }
        }
        if (cors !== undefined) {
          const preflight = cors.preflight(request.method, request.headers)
          if (preflight !== undefined) return Effect.succeed(HttpServerResponse.empty({ status: 204, headers: preflight }))
          const allowed = cors.allow(request.headers["origin"])
          if (allowed !== undefined) {
            const res = nodeResponse(request)
            // On Node, set on the response itself: streams are written to it directly.
            if (res !== undefined) Cors.setOn(res, allowed)
            else inner = Effect.map(inner, HttpServerResponse.setHeaders(allowed))
          }
        }
        if (longLived(request.url)) {
          watchStream(fiber, nodeResponse(request))
          return inner
        }
        const response = nodeResponse(request)
        watch(fiber, response)
        if (response === undefined) return Effect.interruptible(inner)
        return Effect.interruptible(hot(NodeHttpServerRequest.toIncomingMessage(request), response) ?? inner)
      })
    )
    // On the Node server `serve` built, the hot route is claimed at Node's `request` event instead, below the
    // platform's per-request pipeline (no platform request object, scope, middleware, error mapping or response
    // handling: about 75 Effect steps fewer). Its body is read and checked in plain JS; a refusal is written
    // without a fiber, and a valid request is answered in one fiber of its own, forked like the platform forks
    // its handler (the runtime of this layer). While draining (503) and for an `upgrade` header (see
    // `nodeResponse`) the request takes the platform's path, as before.
    const server = hooks.server
    if (server !== undefined) {
      const runFork = Runtime.runFork(yield* Effect.runtime<never>())
      const claim: Claim = (req, res) => {
        if (draining || req.headers.upgrade !== undefined) return false
        if (cors !== undefined) {
          const allowed = cors.allow(req.headers.origin)
          if (allowed !== undefined) Cors.setOn(res, allowed)
        }
        let fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
        // A request ends once its answer is done (its fiber ended, or its refusal written, or its connection
        // closed while the body was read: reading stops then) and its response finished or closed. A complete
        // answer's fiber ends as soon as the bytes are given to `res`, without waiting for 'finish'.
        let answered = false
        let responded = false
        let ended = false
        const check = () => {
          if (ended || !answered || !responded) return
          ended = true
          done()
        }
        inFlight++
        let stop: (() => void) | undefined
        try {
          stop = serveNode(req, res, {
            fork: (answer) => {
              fiber = runFork(answer)
              fiber.addObserver(() => {
                answered = true
                // An answer that ended without ending its response (not expected) writes nothing more: the request
                // ends with its fiber, as it would if it had waited.
                if (!res.writableEnded) responded = true
                check()
              })
            },
            settle: () => {
              answered = true
              check()
            }
          })
        } catch {
          // Not expected (only headers are read before the body arrives); outside a fiber a throw would reach
          // Node's parser, so the platform's path takes the request and answers the defect as before.
          stop = undefined
        }
        if (stop === undefined) {
          inFlight--
          return false
        }
        const stopReading = stop
        // As `watch`: a forked answer is interrupted on close unless it was fully written ('finish').
        let finished = false
        res.once("finish", () => {
          finished = true
          responded = true
          check()
        })
        res.once("close", () => {
          responded = true
          if (fiber === undefined) {
            stopReading()
            answered = true
          } else if (!finished && !answered) fiber.unsafeInterruptAsFork(clientAbortFiberId)
          check()
        })
        return true
      }
      // Acquired before `serveEffect`, so released after the platform's listener is removed.
      yield* Effect.acquireRelease(Effect.sync(() => server.claimWith(claim)), () => Effect.sync(() => server.claimWith(undefined)))
      yield* Effect.acquireRelease(
        Effect.sync(() => server.refuseUnreadWith((req, res) => !draining && refuseUnread(req, res))),
        () => Effect.sync(() => server.refuseUnreadWith(undefined))
      )
    }
    yield* HttpServer.serveEffect(app, track)
    // The app is attached: requests that came while it was built are answered now.
    if (server !== undefined) yield* Effect.sync(() => server.open())
    // Added after `serveEffect`, so it runs before the handler is removed.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        draining = true
        yield* Deferred.succeed(closing, undefined)
        yield* hooks.stopAccepting
        // Checked and armed in one step, so a request finishing in between cannot be missed.
        const waiting = yield* Effect.sync(() => (inFlight === 0 ? undefined : (idle = Deferred.unsafeMake<void>(FiberId.none))))
        if (waiting !== undefined) {
          yield* Effect.logInfo(`shutting down: waiting for ${inFlight} in-flight request(s)`)
          // Finalizers run uninterruptibly: the wait must be interruptible for the timeout to win.
          const drained = yield* Effect.interruptible(Deferred.await(waiting)).pipe(
            Effect.timeoutTo({ duration: Duration.millis(grace), onSuccess: () => true, onTimeout: () => false })
          )
          if (!drained) yield* Effect.logWarning(`shutdown grace of ${grace} ms elapsed with ${inFlight} request(s) in flight; closing them`)
        }
        yield* hooks.forceClose
      })
    )
  })

/**
 * Serve the gateway's routes on the provided `HttpServer`. On close it refuses
 * new requests (503) and waits for in-flight ones (bounded by
 * `server.shutdownGraceMs`). On a Node server, a connection that served one of
 * its requests is closed once its client stops reading
 * (`server.timeouts.writeStallMs`, see `WriteStall`), as under `serve`; the
 * host's own server keeps its other timeouts. A request pipelined behind one
 * whose connection closes first (Node never answers it) ends as one whose
 * client left, as under `serve`. A module constant: layers are memoized by
 * reference, so use `Layer.fresh(layer)` to serve on two servers in one program.
 */
export const layer: Layer.Layer<never, never, Router.AppServices | HttpServer.HttpServer> = Layer.scopedDiscard(
  serveApp(noHooks)
).pipe(HttpMiddleware.withTracerDisabledWhen(() => true))

/**
 * How long Node's server waits on a client (`server.timeouts`: for the
 * request's headers, for the whole request, on an idle keep-alive
 * connection), and how often expiries are checked (`checkIntervalMs`: every
 * 30 s, or every `headersMs` when shorter, so a short timeout is not checked
 * long after it expired). A client past them (a slowloris, an upload that
 * stalls) is answered 408 and closed.
 */
export interface NodeTimeouts {
  readonly headersMs: number
  readonly requestMs: number
  readonly keepAliveMs: number
  readonly checkIntervalMs: number
}

/** The Node timeouts of `server.timeouts` (Node's own defaults unless configured), with `overrides`. */
export const nodeTimeouts = (configured: ServerTimeouts, overrides?: Partial<NodeTimeouts>): NodeTimeouts => ({
  headersMs: configured.headersMs,
  requestMs: configured.requestMs,
  keepAliveMs: configured.keepAliveMs,
  checkIntervalMs: Math.min(30_000, configured.headersMs),
  ...overrides
})

/** Where to listen; unset fields come from `server.port` / `server.host` of the configuration. */
export interface ServeOptions {
  readonly port?: number | undefined
  readonly host?: string | undefined
  /** Overrides of `server.timeouts` and of the check interval (tests shorten it). */
  readonly timeouts?: Partial<NodeTimeouts> | undefined
}

/**
 * Listen on Node with the app; logs the address and provides the
 * `HttpServer` (its address). Its timeouts (a client that stops reading
 * included: `WriteStall`) and connection cap are
 * `server.timeouts` and `server.maxConnections`, read once (a reload does not
 * change them: restart to). On shutdown: stop accepting connections, finish
 * in-flight requests (bounded by `server.shutdownGraceMs`), then close the rest.
 */
export const serve = (options: ServeOptions = {}): Layer.Layer<HttpServer.HttpServer, ServeError, Router.AppServices> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const config = (yield* (yield* GatewayConfig).get).server
      const timeouts = nodeTimeouts(config.timeouts, options.timeouts)
      const server = new DispatchServer({
        headersTimeout: timeouts.headersMs,
        requestTimeout: timeouts.requestMs,
        keepAliveTimeout: timeouts.keepAliveMs,
        connectionsCheckingInterval: timeouts.checkIntervalMs
      })
      ConnectionCap.cap(server, config.maxConnections)
      const hooks: DrainHooks = {
        stopAccepting: Effect.sync(() => {
          server.close()
          server.closeIdleConnections()
        }),
        forceClose: Effect.sync(() => server.closeAllConnections()),
        server
      }
      // Logged once the app is attached: a client that waits for the line is answered at once.
      const listening = HttpServer.addressFormattedWith((address) => Effect.logInfo(`modelgate listening on ${address}`))
      // Guarded before it listens, so every connection is watched.
      const node = NodeHttpServer.layer(() => server, { port: options.port ?? config.port, host: options.host ?? config.host }).pipe(
        Layer.provide(Layer.scopedDiscard(WriteStall.guard(server, config.timeouts.writeStallMs)))
      )
      return Layer.mergeAll(Layer.scopedDiscard(Effect.zipRight(serveApp(hooks), listening)), Layer.scopedDiscard(ConnectionCap.logRefusals(server))).pipe(
        HttpMiddleware.withTracerDisabledWhen(() => true),
        Layer.provideMerge(node),
        Layer.map((context) => Context.make(HttpServer.HttpServer, Context.get(context, HttpServer.HttpServer)))
      )
    })
  )

/** The HTTP app alone (for embedding in another server or router). */
export const app = Router.make

