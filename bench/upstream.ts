/**
 * A minimal OpenAI-compatible upstream for benchmarks: fixed answers, no work,
 * so what is measured is the proxy in front of it.
 * Run as a child process: `node --import tsx bench/upstream.ts <port>`.
 */
import * as http from "node:http"
import { completionText, longStreamText, streamText } from "./upstream-answers.js"

const completion = Buffer.from(completionText)
const streamBody = Buffer.from(streamText)

/** A prompt containing this makes a streamed answer pause `firstBytePauseMs` after its first event. */
const firstBytePrompt = "first-byte-probe"
const firstBytePauseMs = 20
const firstEvent = streamBody.subarray(0, streamBody.indexOf("\n\n") + 2)
const restOfStream = streamBody.subarray(firstEvent.length)

/**
 * A prompt containing this streams `longStreamEvents` content events, each in
 * a write of its own on the next turn of the event loop, as a model's tokens
 * come: what a proxy spends per streamed event.
 */
const longStreamPrompt = "long-stream"
const longStreamEvents = 200
const longStream = longStreamText(longStreamEvents)

const models = Buffer.from(JSON.stringify({ object: "list", data: [{ id: "gpt-4o-mini", object: "model", created: 0, owned_by: "bench" }] }))

const server = http.createServer((req, res) => {
  const parts: Array<Buffer> = []
  req.on("data", (c: Buffer) => parts.push(c))
  req.on("end", () => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json", "content-length": models.length })
      res.end(models)
      return
    }
    const body = Buffer.concat(parts).toString("utf8")
    if (body.includes('"stream":true')) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      if (body.includes(longStreamPrompt)) {
        let i = 0
        const next = () => {
          if (i === longStream.length - 1) return void res.end(longStream[i])
          res.write(longStream[i++])
          setImmediate(next)
        }
        next()
      } else if (body.includes(firstBytePrompt)) {
        // The first-byte probe: the first event at once, the rest after a pause, so a proxy that
        // holds back the first event shows it as added time to first byte.
        res.write(firstEvent)
        setTimeout(() => res.end(restOfStream), firstBytePauseMs)
      } else {
        res.end(streamBody)
      }
    } else {
      res.writeHead(200, { "content-type": "application/json", "content-length": completion.length, "x-request-id": "req_bench" })
      res.end(completion)
    }
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : 0}\n`)
})
