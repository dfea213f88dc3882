/**
 * Raw TCP probes of a test server.
 */
import { Effect } from "effect"
import * as Net from "node:net"

/** Whether a new TCP connection to `port` on 127.0.0.1 is accepted. */
export const accepts = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })
