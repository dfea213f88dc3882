/**
 * `server.maxConnections` on Node's server. Past the cap Node closes each new
 * connection as soon as it is accepted, unanswered (its `drop` event); the
 * open ones are served as before. A flood of them is logged once per episode:
 * a warning at the first connection refused, and, at the next one accepted,
 * how many were refused meanwhile. Nothing runs per connection outside an
 * episode.
 */
import { Effect, Runtime, type Scope } from "effect"
import type * as Net from "node:net"

/** What Node tells of a connection it closed past the cap. */
interface Dropped {
  readonly remoteAddress?: string | undefined
}

/** Cap `server` at `cap` open connections (0: no cap, Node's default); set before it listens. */
export const cap = (server: Net.Server, cap: number): void => {
  if (cap > 0) server.maxConnections = cap
}

/** Log the episodes of connections `server` refuses past its cap (see `cap`), for the current scope. */
export const logRefusals = (server: Net.Server): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    let refused = 0
    const onAccepted = () => {
      runFork(
        Effect.logInfo(`accepting connections again: ${refused} connection(s) refused at the cap of ${server.maxConnections} (server.maxConnections)`)
      )
      refused = 0
    }
    const onDrop = (dropped?: Dropped) => {
      refused++
      if (refused > 1) return
      runFork(
        Effect.logWarning(
          `${server.maxConnections} connections are open (server.maxConnections): new connections are closed unanswered until some close` +
            ` (the first from ${dropped?.remoteAddress ?? "an unknown address"})`
        )
      )
      server.once("connection", onAccepted)
    }
    yield* Effect.acquireRelease(Effect.sync(() => server.on("drop", onDrop)), () =>
      Effect.sync(() => {
        server.off("drop", onDrop)
        server.off("connection", onAccepted)
      }))
  })
