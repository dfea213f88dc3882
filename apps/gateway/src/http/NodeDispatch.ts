/**
 * A Node `http.Server` on which one handler may claim a request before the
 * server's `request` listeners see it: `HttpApp.serve` claims the hot route
 * (`POST /v1/chat/completions`) and runs it in a fiber of its own, below the
 * platform's per-request pipeline; every other request reaches the platform's
 * listener unchanged.
 *
 * Why an `emit` override: Node delivers every request with
 * `server.emit("request", req, res)`, and `NodeHttpServer` adds and removes
 * its listener with `server.on` / `server.off`. Claiming in `emit` leaves the
 * platform's listener registered, called and removed exactly as the platform
 * does it, and a request not claimed is the very same call with the same
 * arguments. Intercepting the registration instead (overriding `on`, `off`
 * and their aliases to wrap the platform's listener) would have to mirror
 * every way a listener can be added or removed.
 *
 * A request with `Expect: 100-continue` (curl sends it for bodies over
 * 1 KiB) is offered to `refuseUnread` first: Node would otherwise write
 * `100 Continue` before any listener sees the request, inviting the client to
 * upload a body the gateway refuses anyway (over the size limit, encoded).
 *
 * Requests that arrive before `open` (the platform listens while the layers
 * are built, before the app is attached) are held, then delivered in order
 * at `open`: without a `request` listener Node would leave them unanswered.
 *
 * A request pipelined behind another has a response queued without a socket
 * (Node gives it the socket once the one before finishes). When the
 * connection closes first (after an answer that closes it, a 413, or the
 * client leaves), Node neither gives it one nor emits its `close`: nothing
 * would end that request. Its `close` is emitted here then, so it ends as any
 * request whose client left (see `endsWithConnection`).
 */
import * as Http from "node:http"
import type * as Net from "node:net"

/**
 * The responses queued on each connection that wait for its socket: one
 * `close` listener per connection however many requests are pipelined on it
 * (one per response would pass Node's listener limit and read as a leak).
 */
const queuedOn = new WeakMap<Net.Socket, Set<Http.ServerResponse>>()

/**
 * The set of `socket`'s queued responses, with the one listener that emits
 * `close` on each still waiting for the socket when it closes.
 */
const watchClose = (socket: Net.Socket): Set<Http.ServerResponse> => {
  const queued = new Set<Http.ServerResponse>()
  queuedOn.set(socket, queued)
  socket.once("close", () => {
    queuedOn.delete(socket)
    // A copy: each `close` takes its response out of the set.
    for (const res of [...queued]) if (res.socket === null && !res.writableFinished) res.emit("close")
  })
  return queued
}

/**
 * Emit `close` on `res`, queued behind another response on its connection,
 * if that connection closes before `res` is given it (Node does not); a
 * response Node has finished or closed is left to Node.
 */
export const endsWithConnection = (req: Http.IncomingMessage, res: Http.ServerResponse): void => {
  const queued = queuedOn.get(req.socket) ?? watchClose(req.socket)
  queued.add(res)
  res.once("close", () => queued.delete(res))
}

/** Answers the request and returns true, or returns false to leave it to the `request` listeners. */
export type Claim = (req: Http.IncomingMessage, res: Http.ServerResponse) => boolean

/** An `http.Server` whose requests go through a `Claim` first, when one is set. */
export class DispatchServer extends Http.Server {
  #claim: Claim | undefined = undefined
  #refuseUnread: Claim | undefined = undefined
  /** Requests that arrived before `open`, in order; undefined once open. */
  #held: Array<readonly [Http.IncomingMessage, Http.ServerResponse]> | undefined = []

  constructor(options: Http.ServerOptions) {
    super(options)
    // With a 'checkContinue' listener Node leaves `100 Continue` to it and emits no 'request'.
    this.on("checkContinue", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      if (this.#refuseUnread?.(req, res) === true) return
      res.writeContinue()
      this.emit("request", req, res)
    })
  }

  /** Offer every request that expects `100 Continue` to `refuse` (answered without its body) before continuing it; `undefined` stops it. */
  refuseUnreadWith(refuse: Claim | undefined): void {
    this.#refuseUnread = refuse
  }

  /** Offer every request to `claim` first; `undefined` stops claiming. */
  claimWith(claim: Claim | undefined): void {
    this.#claim = claim
  }

  /** How many requests wait for `open`. */
  get held(): number {
    return this.#held?.length ?? 0
  }

  /** Deliver requests from now on, first those held since the server started listening. */
  open(): void {
    const held = this.#held ?? []
    this.#held = undefined
    for (const [req, res] of held) this.emit("request", req, res)
  }

  override emit(event: string, ...args: Array<unknown>): boolean {
    if (event !== "request") return super.emit(event, ...args)
    // Node emits "request" with exactly (IncomingMessage, ServerResponse).
    const req = args[0] as Http.IncomingMessage
    const res = args[1] as Http.ServerResponse
    // Only a pipelined request's response waits for its socket.
    if (res.socket === null) endsWithConnection(req, res)
    if (this.#held !== undefined) {
      this.#held.push([req, res])
      return true
    }
    if (this.#claim !== undefined && this.#claim(req, res)) return true
    return super.emit(event, ...args)
  }
}
