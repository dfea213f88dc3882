/**
 * A minimal OpenAI-compatible upstream for benchmarks: fixed answers, no work,
 * so what is measured is the proxy in front of it.
 * Run as a child process: `node --import tsx bench/upstream.ts <port>`.
 */
import * as http from "node:http"

const completion = Buffer.from(
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content: "Hello from the bench upstream." }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 }
  })
)

const chunk = (delta: object, finish: string | null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`

const streamBody = Buffer.from(
  chunk({ role: "assistant", content: "" }, null) +
    ["Hello", " from", " the", " bench", " upstream."].map((t) => chunk({ content: t }, null)).join("") +
    chunk({}, "stop") +
    `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } })}\n\n` +
    "data: [DONE]\n\n"
)

/** A prompt containing this makes a streamed answer pause `firstBytePauseMs` after its first event. */
const firstBytePrompt = "first-byte-probe"
const firstBytePauseMs = 20
const firstEvent = streamBody.subarray(0, streamBody.indexOf("\n\n") + 2)
const restOfStream = streamBody.subarray(firstEvent.length)

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
      if (body.includes(firstBytePrompt)) {
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
