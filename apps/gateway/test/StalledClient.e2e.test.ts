/**
 * A client that stops reading (its socket paused: its TCP receive window
 * fills) while the provider keeps sending a long answer fast, end to end over
 * real sockets. The gateway stops pulling from the provider once the client's
 * socket is full (what the provider sent stays bounded, far below the answer),
 * and after `server.timeouts.writeStallMs` without progress it gives up: the
 * client's connection is closed, the upstream request aborted, what the
 * provider produced charged once, and the provider's permit given back.
 * (A whole answer the client never reads: WriteStall.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Effect } from "effect"
import type * as Http from "node:http"
import * as Net from "node:net"
import { events, post, rows, serveAll, waitUntil } from "./support/FourProviderStack.js"

const piece = "x".repeat(1_000)
const oaChunk = (delta: unknown, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
/** The streamed answer's events: ~64 MB, far more than any socket buffers. */
const total = 64_000
const stallMs = 300

/** A provider whose first answer is a long stream written as fast as its socket takes it; later answers are short. */
const longFirst = () => {
  const sent = { bytes: 0, calls: 0 }
  const write = (res: Http.ServerResponse, i: number): void => {
    while (i < total && !res.destroyed) {
      const text = oaChunk(i === 0 ? { role: "assistant", content: piece } : { content: piece })
      sent.bytes += text.length
      i++
      if (!res.write(text)) {
        res.once("drain", () => write(res, i))
        return
      }
    }
    if (!res.destroyed) res.end(oaChunk({}, "stop") + "data: [DONE]\n\n")
  }
  return Effect.map(
    LoopbackServer.make((_request, res) => {
      sent.calls++
      res.writeHead(200, { "content-type": "text/event-stream" })
      if (sent.calls === 1) write(res, 0)
      else res.end(oaChunk({ role: "assistant", content: "ok" }) + oaChunk({}, "stop") + "data: [DONE]\n\n")
    }),
    (server) => ({ server, sent })
  )
}

/** A raw client that sends one chat request and never reads a byte; `closed` completes when the gateway closes it. */
const stalledClient = (url: string, body: unknown, requestId: string) =>
  Effect.async<{ readonly socket: Net.Socket; readonly closed: Effect.Effect<void> }>((resume) => {
    const { hostname, port } = new URL(url)
    const text = JSON.stringify(body)
    let ended = false
    let wake: (() => void) | undefined
    const socket = Net.connect(Number(port), hostname, () => {
      socket.pause()
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\nx-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
      )
      resume(Effect.succeed({
        socket,
        closed: Effect.async<void>((done) => {
          if (ended) return done(Effect.void)
          wake = () => done(Effect.void)
        })
      }))
    })
    socket.setNoDelay(true)
    socket.on("error", () => {})
    socket.on("close", () => {
      ended = true
      wake?.()
    })
  })

const within = <A>(effect: Effect.Effect<A>, what: string) =>
  effect.pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`${what} within 10 s`) }))

describe("A client that stops reading", () => {
  it.scopedLive("mid-stream: the provider is read no further than the sockets hold; after the stall timeout the call is closed, charged once, its permit back", () =>
    Effect.gen(function* () {
      const { sent, server } = yield* longFirst()
      const s = yield* serveAll({
        providers: { openai: { baseUrl: `${server.url}/v1`, maxRetries: 0, timeoutMs: 5_000, maxConcurrency: 1 } },
        server: { timeouts: { writeStallMs: stallMs } }
      })
      const client = yield* stalledClient(s.url, { model: "gpt", stream: true, messages: [{ role: "user", content: "hi" }] }, "stalled-stream")
      assert.strictEqual(yield* server.closed(1), "closed", "the upstream request was aborted")
      // Read at last: the gateway had closed the connection.
      client.socket.resume()
      yield* within(client.closed, "the gateway did not close the stalled client's connection")
      assert.isBelow(sent.bytes, (total * piece.length) / 2, "the provider was read no further than the sockets hold")
      const costs = yield* waitUntil(
        () => rows<{ completion_tokens: number }>(s.db, "SELECT completion_tokens FROM cost_records WHERE request_id = 'stalled-stream'"),
        (r) => r.length >= 1
      )
      assert.strictEqual(costs.length, 1, "charged once")
      assert.isAbove(costs[0]!.completion_tokens, 100, "what the provider produced is charged")
      // `maxConcurrency: 1`: the permit is back, so the next request is served, not queued.
      const next = yield* post(s.url, { model: "gpt", stream: true, messages: [{ role: "user", content: "again" }] })
      assert.strictEqual(events(next.text).pop(), "[DONE]", next.text)
    }), 30_000)
})
