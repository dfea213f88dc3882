import { describe, expect, it } from "@effect/vitest"
import { follow, parser } from "../src/Sse.js"

const feed = (pieces: ReadonlyArray<string>) => {
  const out: Array<string> = []
  const push = parser((data) => out.push(data))
  for (const piece of pieces) push(piece)
  return out
}

describe("the dashboard's SSE parser", () => {
  it("hands on each event's data once its blank line arrives, however the text is split", () => {
    const text = ": connected\n\ndata: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\ndata: first\ndata: second\n\n"
    const whole = feed([text])
    expect(whole).toEqual(["{\"a\":1}", "{\"b\":2}", "first\nsecond"])
    // Split at every position, even between `\r` and `\n`: the same events.
    for (let i = 1; i < text.length; i++) expect(feed([text.slice(0, i), text.slice(i)])).toEqual(whole)
  })

  it("skips comments and other fields, and keeps an unfinished event until its end arrives", () => {
    expect(feed([": keep-alive\n\n", "event: x\nid: 3\ndata: y\n\n"])).toEqual(["y"])
    expect(feed(["data: half"])).toEqual([])
  })
})

describe("the dashboard's event subscription", () => {
  /**
   * A `fetch` answering each call with the next of `replies` (a status and
   * body, or a network failure; or a response made by `reply`), and timers run by hand.
   */
  const harness = (
    replies: ReadonlyArray<{ readonly status: number; readonly body: string } | "down">,
    reply?: (init: RequestInit | undefined) => Response
  ) => {
    const calls: Array<string> = []
    const pending: Array<{ readonly f: () => void; readonly ms: number }> = []
    const states: Array<{ readonly open: boolean; readonly why: string | undefined; readonly retrying: boolean }> = []
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const next = replies[Math.min(calls.length, replies.length - 1)]
      calls.push(String(input))
      if (reply !== undefined) return reply(init)
      if (next === "down") throw new TypeError("Failed to fetch")
      return new Response(next!.body, { status: next!.status, headers: { "content-type": "application/json" } })
    }) as typeof globalThis.fetch
    const subscription = follow(
      { base: "http://gateway", fetch, key: () => "a-key" },
      { onEvent: () => undefined, onState: (open, why, retrying = true) => void states.push({ open, why, retrying }) },
      { setTimeout: (f, ms) => pending.push({ f, ms }), clearTimeout: () => undefined }
    )
    const settle = () => new Promise((resolve) => setTimeout(resolve, 10))
    return { calls, pending, states, subscription, settle }
  }

  it("stops retrying once the gateway refuses the key (401, 403), saying why, rather than asking again every few seconds", async () => {
    for (const status of [401, 403]) {
      const { calls, pending, settle, states } = harness([{ status, body: JSON.stringify({ error: { message: "invalid API key", code: "invalid_api_key" } }) }])
      await settle()
      expect(calls).toEqual(["http://gateway/v1/events"])
      expect(states).toEqual([{ open: false, why: `${status}: invalid API key`, retrying: false }])
      expect(pending).toHaveLength(0)
    }
  })

  it("retries while the gateway is down or failing, once per retry", async () => {
    const { calls, pending, settle, states, subscription } = harness(["down", { status: 503, body: JSON.stringify({ error: { message: "shutting down" } }) }])
    await settle()
    expect(states.at(-1)).toEqual({ open: false, why: "Failed to fetch", retrying: true })
    expect(pending).toHaveLength(1)
    pending.shift()!.f()
    await settle()
    expect(calls).toHaveLength(2)
    expect(states.at(-1)).toEqual({ open: false, why: "503: shutting down", retrying: true })
    expect(pending).toHaveLength(1)
    subscription.stop()
  })

  it("gives the stream up and reconnects once nothing arrived for three keep-alive intervals (a gateway gone without closing the connection)", async () => {
    const encoder = new TextEncoder()
    // Each stream says `: connected`, then nothing ever again, as a connection whose peer vanished
    // (a host powered off, a NAT that forgot it): no close, no error. Aborting the fetch errors its body, as `fetch` does.
    const silentStream = (init: RequestInit | undefined) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start: (controller) => {
            controller.enqueue(encoder.encode(": connected\n\n"))
            init?.signal?.addEventListener("abort", () => controller.error(new DOMException("This operation was aborted", "AbortError")))
          }
        }),
        { status: 200, headers: { "content-type": "text/event-stream" } }
      )
    const { calls, pending, settle, states, subscription } = harness([], silentStream)
    await settle()
    expect(states).toEqual([{ open: true, why: undefined, retrying: true }])
    // The watch on the silent stream (the last armed: the timers here are never cleared).
    const watch = pending.at(-1)
    expect(watch?.ms).toBe(45_000)
    pending.length = 0
    watch!.f()
    await settle()
    expect(states.at(-1)).toEqual({ open: false, why: "no data from the gateway for 45 s", retrying: true })
    expect(pending.map((p) => p.ms)).toEqual([5_000])
    pending.shift()!.f()
    await settle()
    expect(calls).toHaveLength(2)
    subscription.stop()
  })

  it("reconnects with the last event id read (Last-Event-ID), so the gateway sends the events missed meanwhile", async () => {
    const sent: Array<Record<string, string>> = []
    const { calls, pending, settle, subscription } = harness([], (init) => {
      sent.push({ ...(init?.headers as Record<string, string>) })
      const body = sent.length === 1 ? ": connected\n\nid: b-6\ndata: {\"_tag\":\"ConfigReloaded\"}\n\nid: b-7\ndata: {\"_tag\":\"ConfigReloaded\"}\n\n" : ""
      return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } })
    })
    await settle()
    // The stream ended: a reconnect is due.
    pending.filter((p) => p.ms === 5_000).at(-1)!.f()
    await settle()
    expect(calls).toHaveLength(2)
    expect(sent[0]!["last-event-id"]).toBeUndefined()
    expect(sent[1]!["last-event-id"]).toBe("b-7")
    subscription.stop()
  })
})
