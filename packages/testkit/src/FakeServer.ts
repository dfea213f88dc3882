/**
 * A generic fake HTTP server for provider fakes: node:http on 127.0.0.1, a
 * random port, started as a scoped Effect and closed with its scope. It
 * records every request, answers through a provider's handler, and replaces
 * answers with scripted faults (queued, one per request, or persistent) and a
 * rate limit it enforces itself (rpm / tpm over a real 60 s sliding window,
 * answered with the provider's own 429).
 *
 * Time inside the fake is always real (the live clock), even when the test
 * runs on `TestClock`: latency faults and the rate-limit window are wall time.
 *
 * Usage by a provider fake:
 * ```ts
 * const server = yield* FakeServer.make({ name: "openai", handle, errorAnswer })
 * yield* server.script(Fault.status(429, { headers: { "retry-after": "2" } }), Fault.reset())
 * yield* server.setRateLimit({ rpm: 3 })
 * const [first] = yield* server.requests
 * ```
 *
 * To make a latency fault deterministic under `TestClock`, hold the answers
 * instead of delaying them, and move the test's clock while they are held:
 * ```ts
 * const gate = yield* Effect.makeLatch(false)
 * yield* server.persist(Fault.hold(gate))
 * const calls = yield* Effect.fork(callTheGatewayThreeTimes)
 * yield* server.awaitHeld(3) // real time: the three requests reached the fake
 * yield* TestClock.adjust("1200 millis") // the gateway's clock: they took 1.2 s
 * yield* gate.open
 * yield* Fiber.join(calls)
 * ```
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Clock, Effect, FiberSet, type Scope } from "effect"
import { destroy, sendAnswer, sendError, sendRaw } from "./FakeServer/respond.js"
import type { FakeProvider, FakeRateLimit, Fault, RecordedRequest } from "./FakeServer/types.js"

export * from "./FakeServer/types.js"
export { awaitSleep } from "./FakeServer/clock.js"

/** A running fake server. */
export interface FakeServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string
  /** Every request received so far, oldest first (faulted and rate-limited ones included). */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Queue faults: each replaces the normal answer of one upcoming request, in order. */
  readonly script: (...faults: ReadonlyArray<Fault>) => Effect.Effect<void>
  /** A fault applied to every request once the queue is empty (undefined clears it). */
  readonly persist: (fault: Fault | undefined) => Effect.Effect<void>
  /** Enforce a rate limit (undefined removes it). */
  readonly setRateLimit: (limit: FakeRateLimit | undefined) => Effect.Effect<void>
  /** How many 429s the built-in rate limit has sent. */
  readonly rateLimitedCount: Effect.Effect<number>
  /** Forget requests, faults, the rate limit and its window (requests held right now stay held until their gate opens). */
  readonly reset: Effect.Effect<void>
  /** How many requests are waiting at a `Fault.hold` right now. */
  readonly held: Effect.Effect<number>
  /**
   * Wait in real time until at least `count` requests are waiting at a
   * `Fault.hold` (polling every 2 ms on the live clock, so it works under
   * `TestClock`); dies after `giveUpMs` of real time (default 10 s).
   */
  readonly awaitHeld: (count: number, giveUpMs?: number) => Effect.Effect<void>
}

/** Length of the built-in rate limit's sliding window. */
export const windowMs = 60_000

const readBody = (req: Http.IncomingMessage) =>
  Effect.async<string>((resume) => {
    const parts: Array<Buffer> = []
    req.on("data", (part: Buffer) => parts.push(part))
    req.on("end", () => resume(Effect.succeed(Buffer.concat(parts).toString("utf8"))))
    req.on("error", () => resume(Effect.succeed(Buffer.concat(parts).toString("utf8"))))
  })

const parseJson = (text: string): unknown => {
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

const flatHeaders = (req: Http.IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

/** Start a fake server for `provider`; it closes (connections included) when the scope closes. */
export const make = (provider: FakeProvider): Effect.Effect<FakeServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const live = Clock.make()
    const run = yield* FiberSet.makeRuntime<never>()
    const state = {
      requests: [] as Array<RecordedRequest>,
      queue: [] as Array<Fault>,
      persistent: undefined as Fault | undefined,
      limit: undefined as FakeRateLimit | undefined,
      window: [] as Array<{ readonly at: number; readonly tokens: number }>,
      limited: 0,
      held: 0
    }

    /** Wait at `Hold` faults (counted in `state.held` meanwhile); what remains to apply after them. */
    const passHolds = (fault: Fault | undefined): Effect.Effect<Fault | undefined> =>
      fault?._tag === "Hold"
        ? Effect.zipRight(
          Effect.acquireUseRelease(
            Effect.sync(() => void state.held++),
            () => fault.gate.await,
            () => Effect.sync(() => void state.held--)
          ),
          Effect.suspend(() => passHolds(fault.then))
        )
        : Effect.succeed(fault)

    const checkLimit = (tokens: number, now: number): number | undefined => {
      const limit = state.limit
      if (limit === undefined) return undefined
      state.window = state.window.filter((e) => e.at > now - windowMs)
      const used = state.window.reduce((sum, e) => sum + e.tokens, 0)
      const overRpm = limit.rpm !== undefined && state.window.length >= limit.rpm
      const overTpm = limit.tpm !== undefined && used + tokens > limit.tpm
      if (!overRpm && !overTpm) {
        state.window.push({ at: now, tokens })
        return undefined
      }
      const oldest = state.window[0]
      return oldest === undefined ? windowMs : Math.max(1, oldest.at + windowMs - now)
    }

    const serve = (req: Http.IncomingMessage, res: Http.ServerResponse) =>
      Effect.gen(function*() {
        const body = yield* readBody(req)
        const request: RecordedRequest = {
          method: req.method ?? "GET",
          path: req.url ?? "/",
          headers: flatHeaders(req),
          body,
          json: parseJson(body)
        }
        state.requests.push(request)
        const fault = yield* passHolds(state.queue.shift() ?? state.persistent)
        if (fault?._tag === "Reset" && fault.afterChunks === undefined) return yield* destroy(res)
        if (fault?._tag === "Status") {
          if (fault.body === undefined) {
            const error = provider.errorAnswer({
              status: fault.status,
              message: fault.message ?? `scripted ${fault.status} from fake ${provider.name}`
            })
            return yield* sendError(res, fault.status, { body: error.body, headers: { ...error.headers, ...fault.headers } })
          }
          const text = typeof fault.body === "string" ? fault.body : JSON.stringify(fault.body)
          return yield* sendRaw(res, fault.status, text, { "content-type": "application/json", ...fault.headers })
        }
        if (fault?._tag === "Body") {
          return yield* sendRaw(res, fault.status, fault.body, { "content-type": fault.contentType })
        }
        const answer = provider.handle(request)
        if (answer.tokens !== undefined) {
          const now = yield* Clock.currentTimeMillis
          const retryAfterMs = checkLimit(answer.tokens, now)
          if (retryAfterMs !== undefined) {
            state.limited++
            const error = provider.errorAnswer({
              status: 429,
              message: `Rate limit reached for fake ${provider.name}: ${JSON.stringify(state.limit)} per ${windowMs} ms`,
              retryAfterMs
            })
            return yield* sendError(res, 429, error)
          }
        }
        return yield* sendAnswer(res, answer, fault)
      }).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.sync(() => {
            if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" })
            res.end(`fake ${provider.name} crashed: ${String(defect)}`)
          })
        ),
        Effect.withClock(live)
      )

    const server = Http.createServer((req, res) => {
      run(serve(req, res))
    })
    yield* Effect.async<void>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.void))
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
    )
    const address = server.address() as AddressInfo

    return {
      url: `http://127.0.0.1:${address.port}`,
      requests: Effect.sync(() => [...state.requests]),
      script: (...faults) => Effect.sync(() => void state.queue.push(...faults)),
      persist: (fault) => Effect.sync(() => void (state.persistent = fault)),
      setRateLimit: (limit) =>
        Effect.sync(() => {
          state.limit = limit
        }),
      rateLimitedCount: Effect.sync(() => state.limited),
      reset: Effect.sync(() => {
        state.requests = []
        state.queue = []
        state.persistent = undefined
        state.limit = undefined
        state.window = []
        state.limited = 0
      }),
      held: Effect.sync(() => state.held),
      awaitHeld: (count, giveUpMs = 10_000) =>
        Effect.gen(function*() {
          const started = yield* Clock.currentTimeMillis
          while (state.held < count) {
            if ((yield* Clock.currentTimeMillis) - started > giveUpMs) {
              return yield* Effect.dieMessage(`fake ${provider.name}: ${state.held} requests held after ${giveUpMs} ms, waiting for ${count}`)
            }
            yield* Effect.sleep(2)
          }
        }).pipe(Effect.withClock(live))
    } satisfies FakeServer
  })
