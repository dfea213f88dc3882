/**
 * Keep-alive comments for streamed chat answers. A model may think for
 * minutes between two events (before its first word, or between tool
 * calls); a stream that sent nothing for a whole interval gets a
 * `: keep-alive` comment, which every SSE reader skips, so a proxy's idle
 * timeout (nginx's `proxy_read_timeout` is 60 s) does not cut it. One ticker
 * serves every open stream; a stream costs a set entry, and its activity is
 * read from its socket's byte count at each tick (nothing per write).
 */
import { Effect, Schedule, type Scope } from "effect"
import type * as Http from "node:http"

/** The comment written to a stream idle for a whole interval. */
export const comment = ": keep-alive\n\n"

/** The streams watched for idleness. */
export interface SseKeepAlive {
  /** Watch a stream whose headers are written, until `unwatch`. */
  readonly watch: (res: Http.ServerResponse) => void
  /** Stop watching a stream (it ended, however it ended). */
  readonly unwatch: (res: Http.ServerResponse) => void
}

/** Watches nothing: keep-alive comments off. */
export const off: SseKeepAlive = { watch: () => {}, unwatch: () => {} }

/**
 * Every `intervalMs`, write `comment` to each watched stream whose socket
 * wrote nothing since the last tick; the ticker runs in the current scope
 * (`off` when `intervalMs` is 0).
 */
export const make = (intervalMs: number): Effect.Effect<SseKeepAlive, never, Scope.Scope> => {
  if (intervalMs <= 0) return Effect.succeed(off)
  /** Each watched stream and its socket's byte count at the last tick. */
  const watched = new Map<Http.ServerResponse, number>()
  const tick = Effect.sync(() => {
    for (const [res, before] of watched) {
      const socket = res.socket
      if (socket === null || res.writableEnded || res.destroyed) {
        watched.delete(res)
        continue
      }
      if (socket.bytesWritten === before) res.write(comment)
      watched.set(res, socket.bytesWritten)
    }
  })
  return Effect.as(
    Effect.forkScoped(Effect.repeat(tick, Schedule.spaced(intervalMs)).pipe(Effect.delay(intervalMs))),
    {
      watch: (res) => {
        watched.set(res, res.socket?.bytesWritten ?? 0)
      },
      unwatch: (res) => {
        watched.delete(res)
      }
    }
  )
}
