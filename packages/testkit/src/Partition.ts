/**
 * A network partition for tests: a TCP proxy on a loopback port in front of
 * a server, which can drop every byte both ways without closing anything (as
 * a cut-off network does: no reset, no answer) and then heal, resetting the
 * connections it held (TCP would find them dead) so new ones pass.
 */
import { Effect, type Scope } from "effect"
import * as net from "node:net"

/** The proxy: its port, and the switch. */
export interface Proxy {
  /** The loopback port to connect to instead of the server's. */
  readonly port: number
  /** Drop every byte from now on, both ways; nothing is closed. */
  readonly cut: () => void
  /** Reset the connections held across the cut; new ones pass again. */
  readonly heal: () => void
}

/** A TCP proxy to `port` that can drop every byte both ways (`cut`) and then reset what it held (`heal`). */
export const proxy = (port: number): Effect.Effect<Proxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Proxy & { readonly server: net.Server }>((resume) => {
      let dropping = false
      const sockets = new Set<net.Socket>()
      const server = net.createServer((client) => {
        const upstream = net.connect(port, "127.0.0.1")
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.on("error", () => {})
          socket.on("close", () => sockets.delete(socket))
        }
        client.on("data", (chunk) => void (dropping || upstream.write(chunk)))
        upstream.on("data", (chunk) => void (dropping || client.write(chunk)))
        client.on("close", () => upstream.destroy())
        upstream.on("close", () => client.destroy())
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          port: (server.address() as net.AddressInfo).port,
          server,
          cut: () => void (dropping = true),
          // After the partition the connections it held are dead (as TCP would find out); new ones pass.
          heal: () => {
            for (const socket of sockets) socket.destroy()
            dropping = false
          }
        }))
      )
    }),
    ({ heal, server }) =>
      Effect.sync(() => {
        heal()
        server.close()
      })
  )
