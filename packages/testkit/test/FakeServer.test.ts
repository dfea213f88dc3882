import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Answer, Fault, type FakeProvider, make } from "../src/FakeServer.js"

const toy: FakeProvider = {
  name: "toy",
  handle: (request): Answer =>
    request.path === "/stream"
      ? { _tag: "Stream", contentType: "text/event-stream", chunks: ["data: 1\n\n", "data: 2\n\n", "data: [DONE]\n\n"], terminalChunks: 1, tokens: 10 }
      : { _tag: "Json", status: 200, body: { ok: true, echo: request.json }, tokens: 10 },
  errorAnswer: ({ message, retryAfterMs, status }) => ({
    body: JSON.stringify({ error: { message, status } }),
    headers: retryAfterMs !== undefined ? { "retry-after": String(Math.ceil(retryAfterMs / 1000)) } : {}
  })
}

const fetchText = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const res = await fetch(url, init)
    return { status: res.status, headers: res.headers, text: await res.text() }
  })

/** Read the body as it arrives: the text received before the body ended or broke, and whether it broke. */
const readUntilBroken = (url: string) =>
  Effect.promise(async () => {
    const res = await fetch(url)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let received = ""
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return { received, broke: false }
        received += decoder.decode(value, { stream: true })
      }
    } catch {
      return { received, broke: true }
    }
  })

const fetchFails = (url: string) =>
  Effect.promise(() => fetch(url).then((r) => r.text()).then(() => false, () => true))

describe("FakeServer", () => {
  it.scoped("records requests and answers through the provider handler", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      const res = yield* fetchText(`${server.url}/chat?x=1`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-key": "k" },
        body: JSON.stringify({ a: 1 })
      })
      expect(res.status).toBe(200)
      expect(JSON.parse(res.text)).toEqual({ ok: true, echo: { a: 1 } })
      const [recorded] = yield* server.requests
      expect(recorded).toMatchObject({ method: "POST", path: "/chat?x=1", json: { a: 1 } })
      expect(recorded?.headers["x-key"]).toBe("k")
    }))

  it.scoped("consumes queued faults in order, then answers normally", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      yield* server.script(Fault.status(503), Fault.html(), Fault.malformedJson())
      const a = yield* fetchText(server.url)
      expect(a.status).toBe(503)
      expect(JSON.parse(a.text)).toMatchObject({ error: { status: 503 } })
      const b = yield* fetchText(server.url)
      expect(b.status).toBe(502)
      expect(b.text).toContain("<html>")
      const c = yield* fetchText(server.url)
      expect(() => JSON.parse(c.text)).toThrow()
      const d = yield* fetchText(server.url)
      expect(d.status).toBe(200)
    }))

  it.scoped("persistent faults apply until cleared; a reset destroys the connection", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      yield* server.persist(Fault.reset())
      expect(yield* fetchFails(server.url)).toBe(true)
      expect(yield* fetchFails(server.url)).toBe(true)
      yield* server.persist(undefined)
      expect((yield* fetchText(server.url)).status).toBe(200)
    }))

  it.scoped("a reset after n chunks delivers those n chunks, then breaks the connection", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      yield* server.script(Fault.reset(1), Fault.reset(2), Fault.reset(0))
      expect(yield* readUntilBroken(`${server.url}/stream`)).toEqual({ received: "data: 1\n\n", broke: true })
      expect(yield* readUntilBroken(`${server.url}/stream`)).toEqual({ received: "data: 1\n\ndata: 2\n\n", broke: true })
      expect(yield* readUntilBroken(`${server.url}/stream`)).toEqual({ received: "", broke: true })
      // a JSON answer: half its body, then the break
      yield* server.script(Fault.reset(1))
      const half = JSON.stringify({ ok: true, echo: undefined })
      expect(yield* readUntilBroken(server.url)).toEqual({ received: half.slice(0, Math.floor(half.length / 2)), broke: true })
    }))

  it.scoped("streams chunks; a cut leaves out the terminal event, inject adds a raw chunk", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      expect((yield* fetchText(`${server.url}/stream`)).text).toBe("data: 1\n\ndata: 2\n\ndata: [DONE]\n\n")
      yield* server.script(Fault.cut(), Fault.inject(1, "data: {\"error\":1}\n\n"))
      expect((yield* fetchText(`${server.url}/stream`)).text).toBe("data: 1\n\ndata: 2\n\n")
      expect((yield* fetchText(`${server.url}/stream`)).text).toBe("data: 1\n\ndata: {\"error\":1}\n\n")
    }))

  it.scoped("enforces its own rate limit with the provider's 429", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      yield* server.setRateLimit({ rpm: 2 })
      expect((yield* fetchText(server.url)).status).toBe(200)
      expect((yield* fetchText(server.url)).status).toBe(200)
      const limited = yield* fetchText(server.url)
      expect(limited.status).toBe(429)
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0)
      expect(yield* server.rateLimitedCount).toBe(1)
      yield* server.reset
      yield* server.setRateLimit({ tpm: 25 })
      expect((yield* fetchText(server.url)).status).toBe(200)
      expect((yield* fetchText(server.url)).status).toBe(200)
      expect((yield* fetchText(server.url)).status).toBe(429)
    }))

  it.scoped("delays use real time even under TestClock", () =>
    Effect.gen(function*() {
      const server = yield* make(toy)
      yield* server.script(Fault.delay({ headersMs: 50 }))
      const started = performance.now()
      expect((yield* fetchText(server.url)).status).toBe(200)
      expect(performance.now() - started).toBeGreaterThanOrEqual(45)
    }))
})
