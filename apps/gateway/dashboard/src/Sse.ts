/**
 * `/v1/events` read with `fetch` (a browser's `EventSource` cannot send the
 * key), as server-sent events: each event's `data` handed on as it comes,
 * reconnecting after the stream ends, fails or goes silent, until the key is
 * refused; as `EventSource` does, a reconnect sends the last event id read
 * (`Last-Event-ID`), so the gateway first sends the events missed meanwhile.
 */
import { type Connection, describe, failureOf, type GatewayEvent, headersOf } from "./Api.js"

/**
 * A parser of an SSE byte stream's text: feed it the text as it arrives, in
 * any pieces; it calls `onData` with each complete event's data (its `data:`
 * lines joined by newlines) and the last event id read so far (`id:`, as
 * `EventSource` keeps it; undefined before any); comments and other fields ignored.
 */
export const parser = (onData: (data: string, lastEventId: string | undefined) => void) => {
  let pending = ""
  let data: Array<string> = []
  let lastEventId: string | undefined
  const line = (text: string) => {
    if (text === "") {
      if (data.length > 0) onData(data.join("\n"), lastEventId)
      data = []
      return
    }
    if (text.startsWith(":")) return
    const colon = text.indexOf(":")
    const field = colon === -1 ? text : text.slice(0, colon)
    const raw = colon === -1 ? "" : text.slice(colon + 1)
    const value = raw.startsWith(" ") ? raw.slice(1) : raw
    if (field === "id" && !value.includes("\0")) lastEventId = value
    if (field === "data") data.push(value)
  }
  return (text: string) => {
    pending += text
    let end: number
    while ((end = pending.search(/\r\n|\r|\n/)) !== -1) {
      // A lone `\r` at the end of a piece may be the first half of `\r\n`: wait for the next piece.
      if (pending[end] === "\r" && end === pending.length - 1) break
      line(pending.slice(0, end))
      pending = pending.slice(end + (pending.startsWith("\r\n", end) ? 2 : 1))
    }
  }
}

/** A running subscription: `stop` ends it for good. */
export interface Subscription {
  readonly stop: () => void
}

/** What the subscription tells its owner. */
export interface Listener {
  readonly onEvent: (event: GatewayEvent) => void
  /**
   * The stream is open (true) or lost (false, with why). A lost stream is
   * followed again on its own (`retrying`) unless the gateway refused the key
   * (401, 403): asking again with the same key would only be refused again.
   */
  readonly onState: (open: boolean, why?: string, retrying?: boolean) => void
}

/**
 * How long an open stream may send nothing before it is given up: three of
 * the gateway's 15 s keep-alive comments. A connection whose peer vanished
 * without closing it (a host powered off, a NAT or proxy that dropped it)
 * never ends nor fails on its own.
 */
export const silenceMs = 45_000

/**
 * Follow `/v1/events` until `stop`: every event to `onEvent`; after the
 * stream ends or fails, or sends nothing for `silenceMs`, wait `retryMs`
 * and connect again; after a refusal of the key, stop.
 */
export const follow = (
  connection: Connection,
  listener: Listener,
  timers: { readonly setTimeout: (f: () => void, ms: number) => unknown; readonly clearTimeout: (handle: never) => void },
  retryMs = 5_000
): Subscription => {
  let stopped = false
  let controller: AbortController | undefined
  let retry: unknown
  // The id of the last event handed on: sent again at each reconnect.
  let lastEventId: string | undefined
  const connect = async () => {
    const own = new AbortController()
    controller = own
    let why = "the stream ended"
    let refused = false
    // Armed while the stream is open, again at each read: when it fires, the stream is given up.
    let silent = false
    let ended = false
    let watch: unknown
    const rearm = () => {
      if (watch !== undefined) timers.clearTimeout(watch as never)
      watch = timers.setTimeout(() => {
        if (ended) return
        silent = true
        own.abort()
      }, silenceMs)
    }
    try {
      const headers = { ...headersOf(connection), ...(lastEventId === undefined ? {} : { "last-event-id": lastEventId }) }
      const response = await connection.fetch(connection.base + "/v1/events", { headers, signal: controller.signal })
      if (!response.ok || response.body === null) {
        why = response.ok ? "the gateway sent no stream" : describe(await failureOf(response))
        refused = response.status === 401 || response.status === 403
      } else {
        listener.onState(true)
        rearm()
        const feed = parser((data, id) => {
          if (id !== undefined) lastEventId = id
          try {
            const event = JSON.parse(data) as GatewayEvent
            // A read that ended as `stop` was called hands on nothing more.
            if (!stopped && typeof event._tag === "string") listener.onEvent(event)
          } catch {
            // not an event: skipped
          }
        })
        const reader = response.body.getReader()
        const decoder = new TextDecoder()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          rearm()
          feed(decoder.decode(value, { stream: true }))
        }
      }
    } catch (error) {
      why = silent ? `no data from the gateway for ${silenceMs / 1000} s` : error instanceof Error ? error.message : String(error)
    }
    ended = true
    if (watch !== undefined) timers.clearTimeout(watch as never)
    if (stopped) return
    listener.onState(false, why, !refused)
    if (refused) return
    retry = timers.setTimeout(() => void connect(), retryMs)
  }
  void connect()
  return {
    stop: () => {
      stopped = true
      controller?.abort()
      if (retry !== undefined) timers.clearTimeout(retry as never)
    }
  }
}
