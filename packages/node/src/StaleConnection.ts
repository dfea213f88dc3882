/**
 * A kept-alive connection the upstream closed just as the gateway reused it:
 * the server's idle timeout fired (or a load balancer, NAT or proxy dropped
 * the idle connection) while the request was on its way, so the request
 * meets a closed socket (undici's `SocketError: other side closed` on a
 * connection that had carried an earlier answer) or a reset (`ECONNRESET`,
 * `EPIPE`) before any byte of an answer. The request was not processed:
 * sending it once more, at once, on a fresh connection is what every HTTP
 * client with a pool does (and a reset the upstream really meant comes again
 * on the fresh connection, and fails then). Without it, such a race reads as
 * a provider failure: a retry after backoff, or, with `maxRetries: 0` and
 * for health probes, a failover and a strike against the endpoint's health.
 *
 * Done in the dispatcher (`resend`, an undici interceptor), so both the lean
 * client and the platform's one over it get it, through a proxy too.
 */
import type { Dispatcher } from "undici"

/** The socket facts undici attaches to a `SocketError`. */
interface SocketInfo {
  readonly bytesRead?: number
}

/**
 * Whether `error` (of a request that got no answer) is the upstream closing
 * or resetting a connection as it was reused: a `SocketError` on a socket
 * that had read an earlier answer, or a reset (undici does not say whether
 * that socket was new).
 */
export const isStale = (error: Error): boolean => {
  const code = (error as { code?: unknown }).code
  if (code === "ECONNRESET" || code === "EPIPE") return true
  if (code !== "UND_ERR_SOCKET") return false
  const socket = (error as { socket?: SocketInfo }).socket
  return socket !== undefined && (socket.bytesRead ?? 0) > 0
}

/**
 * How soon after it was sent a request's failure can be a stale connection's:
 * a dropped kept-alive connection fails the request within a round trip. A
 * reset later than this may come after the provider worked on the request (a
 * load balancer cutting a long call): sending it again could bill it twice,
 * so it is left to the adapter's retries, like every other transport failure.
 */
const staleWithinMs = 1_000

/** Whether a request body can be sent again (nothing streamed). */
const replayable = (body: Dispatcher.DispatchOptions["body"]): boolean =>
  body === null || body === undefined || typeof body === "string" || body instanceof Uint8Array

/**
 * An undici interceptor: a request whose connection the upstream closed or
 * reset before any byte of an answer (`isStale`), within `staleWithinMs` of
 * its sending, is dispatched once more,
 * at once; undici opens a fresh connection for it (the broken one is gone).
 * Any other failure, or a second one, goes to the caller as it came.
 */
export const resend: Dispatcher.DispatcherComposeInterceptor = (dispatch) => resendTimed(() => performance.now())(dispatch)

/** `resend` with `now` (milliseconds) as its clock: a test's own. */
export const resendTimed = (now: () => number): Dispatcher.DispatcherComposeInterceptor => (dispatch) => (opts, handler) => {
  if (!replayable(opts.body)) return dispatch(opts, handler)
  let resent = false
  const attempt = (): boolean => {
    let answered = false
    const sentAt = now()
    return dispatch(opts, {
      onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
      onRequestUpgrade: (controller, statusCode, headers, socket) =>
        handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
      onResponseStart: (controller, statusCode, headers, statusMessage) => {
        answered = true
        return handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
      },
      onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
      onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
      onResponseError: (controller, error) => {
        if (!answered && !resent && controller?.aborted !== true && now() - sentAt < staleWithinMs && isStale(error)) {
          resent = true
          attempt()
          return
        }
        handler.onResponseError?.(controller, error)
      }
    })
  }
  return attempt()
}
