/**
 * A stream announces its cost as the `x-modelgate-cost-usd` trailer (HTTP
 * `Trailer:` header); a stream that breaks after its first text (the provider
 * cuts it, or stalls past its timeout) is still charged what the provider had
 * begun, so the trailer announced must come, with the amount recorded in its
 * cost record. End to end over real sockets, read with a node:http client.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Http from "node:http"
import { costHeader, formatUsd } from "../src/http/Usd.js"
import { events, rows, serveAll, waitUntil } from "./support/FourProviderStack.js"
import { gate, rawServer, sseBody } from "./support/RawProviders.js"

const oa = (delta: unknown) => ({ id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: null }] })
const first = sseBody([oa({ role: "assistant", content: "Hello" })])
const next = sseBody([oa({ content: " there" })])
const start = first + next

/** OpenAI scripted (a 300 ms timeout), the others unused. */
const stack = Effect.gen(function* () {
  const openai = yield* rawServer()
  const provider = (baseUrl: string) => ({ baseUrl, maxRetries: 0, timeoutMs: 300 })
  const s = yield* serveAll({
    providers: { openai: provider(`${openai.url}/v1`), anthropic: provider(openai.url), google: provider(openai.url), ollama: provider(openai.url) },
    healthCheck: { enabled: false, failureThreshold: 100 }
  })
  return { ...s, openai }
})

/** A streamed call read with node:http: its `Trailer` header, its trailers and its body (`onText` once it has "Hello"). */
const streamed = (url: string, requestId: string, onText: () => void) =>
  Effect.async<{ readonly announced: unknown; readonly trailers: NodeJS.Dict<string>; readonly text: string }>((resume) => {
    const body = JSON.stringify({ model: "gpt", stream: true, messages: [{ role: "user", content: requestId }] })
    const req = Http.request(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": requestId } }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (d: string) => {
        text += d
        if (text.includes("Hello")) onText()
      })
      res.on("end", () => resume(Effect.succeed({ announced: res.headers.trailer, trailers: res.trailers, text })))
    })
    req.on("error", (e) => resume(Effect.die(e)))
    req.end(body)
  })

describe("the cost trailer of a broken stream", () => {
  it.scopedLive("a stream cut, or stalled past its timeout, after its first text sends the trailer it announced: the amount charged", () =>
    Effect.gen(function* () {
      const s = yield* stack
      // The reset comes once the client has the first text (in the same read, the request fails over instead).
      const later = gate()
      s.openai.script({ contentType: "text/event-stream", body: first, rest: { after: later.opened, body: next }, reset: true })
      s.openai.script({ contentType: "text/event-stream", body: start, hold: true })
      for (const id of ["trailer-cut", "trailer-stall"]) {
        const r = yield* streamed(s.url, id, later.open)
        const data = events(r.text)
        assert.include(data[0], "Hello", r.text)
        assert.property(JSON.parse(data[data.length - 1]!), "error", r.text)
        assert.strictEqual(r.announced, costHeader, id)
        const [record] = yield* waitUntil(
          () => rows<{ cost_pico: number }>(s.db, `SELECT cost_pico FROM cost_records WHERE request_id = '${id}'`),
          (rs) => rs.length > 0
        )
        assert.isAbove(Number(record?.cost_pico), 0, `${id}: charged`)
        assert.strictEqual(r.trailers[costHeader], formatUsd(Number(record!.cost_pico) / 1e12), `${id}: the trailer is the amount recorded`)
      }
    }), 30_000)
})
