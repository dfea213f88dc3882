/**
 * `server.timeouts.writeStallMs` on Node's server: a connection whose client
 * stopped taking the answer's bytes (it stopped reading but never closed: its
 * TCP receive window is full) is destroyed once none of its pending bytes
 * reached the kernel for a whole interval. Answers are written with
 * backpressure (a stream waits for 'drain' before pulling more from its
 * provider), so until then a stalled client holds its socket's buffers and no
 * more; destroying the connection closes its response, which ends its request
 * as if the client had left (a stream closes its upstream, and the call is
 * settled and recorded once). Progress is one of its writes reaching the
 * kernel whole: a streamed answer's client that reads, however slowly, is not
 * cut; a whole answer must be taken within the interval once the sockets'
 * buffers are full. A connection with nothing pending is never cut.
 * One ticker checks every watched connection; a connection costs a map entry,
 * nothing runs per write. `modelgate serve` watches each connection its
 * server accepts; `HttpApp.layer` on a host's Node server, each connection
 * from its first request to the app (a map lookup per request).
 */
import { Effect, Schedule, type Scope } from "effect"
import type * as Net from "node:net"

/** Marks a connection with nothing pending at the last tick. */
const idle = -1

/**
 * Start watching `socket` (once: watching it again does nothing); it is
 * forgotten when it closes.
 */
export type Watch = (socket: Net.Socket) => void

/**
 * Every `stallMs`, destroy each watched connection that had bytes pending at
 * the last tick and has written none of them since (so a stall is cut after
 * `stallMs` to twice that); the ticker runs in the current scope. Returns
 * `watch`, which adds a connection (synchronous: a map lookup).
 */
export const make = (stallMs: number): Effect.Effect<Watch, never, Scope.Scope> =>
  Effect.gen(function* () {
    /** Each open connection and how many of its bytes had reached the kernel at the last tick (`idle`: none pending). */
    const watched = new Map<Net.Socket, number>()
    const watch: Watch = (socket) => {
      if (watched.has(socket) || socket.destroyed) return
      watched.set(socket, idle)
      socket.once("close", () => watched.delete(socket))
    }
    const tick = Effect.sync(() => {
      for (const [socket, before] of watched) {
        const pending = socket.writableLength
        if (pending === 0) {
          watched.set(socket, idle)
          continue
        }
        // `bytesWritten` counts the bytes still pending too.
        const sent = socket.bytesWritten - pending
        if (sent === before) socket.destroy()
        else watched.set(socket, sent)
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => watched.clear()))
    yield* Effect.forkScoped(Effect.repeat(tick, Schedule.spaced(stallMs)).pipe(Effect.delay(stallMs)))
    return watch
  })

/** `make`, watching every connection `server` accepts. */
export const guard = (server: Net.Server, stallMs: number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(make(stallMs), (watch) =>
    Effect.acquireRelease(Effect.sync(() => server.on("connection", watch)), () => Effect.sync(() => server.off("connection", watch))))
