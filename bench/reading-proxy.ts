/**
 * A second baseline: a proxy that reads its traffic, in plain JS over the
 * pass-through's node:http + undici Pool. It parses the request, checks its
 * messages, builds the upstream request anew, parses the answer (each event of
 * a stream), prices its usage, keeps an in-memory record, and writes what it
 * sends back anew with the gateway's `x-modelgate-*` headers. No selection,
 * limits, failover or database: the least work any gateway that understands
 * its traffic does, to tell what reading costs from what the rest costs.
 * Run as a child process: `node --import tsx bench/reading-proxy.ts <port> <upstream-origin>`.
 */
import * as http from "node:http"
import { Pool } from "undici"

const port = Number(process.argv[2] ?? 0)
const origin = process.argv[3] ?? "http://127.0.0.1:1"
const pool = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 })

/** Dollars per token of the bench model (bench/config/models.json). */
const inputPrice = 0.15e-6
const outputPrice = 0.6e-6

interface Message {
  readonly role: string
  readonly content: string
}
interface Usage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
}
interface Completion {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{ readonly index: number; readonly message: Message; readonly finish_reason: string | null }>
  readonly usage?: Usage
}
interface Chunk {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{ readonly index: number; readonly delta: Partial<Message>; readonly finish_reason?: string | null }>
  readonly usage?: Usage
}

/** The last records, as a gateway would keep them until written. */
const records: Array<{ readonly id: string; readonly costUsd: number; readonly latencyMs: number }> = []
let sequence = 0

const costOf = (usage: Usage | undefined) =>
  usage === undefined ? 0 : usage.prompt_tokens * inputPrice + usage.completion_tokens * outputPrice

const keep = (id: string, usage: Usage | undefined, started: number) => {
  records.push({ id, costUsd: costOf(usage), latencyMs: performance.now() - started })
  if (records.length >= 1000) records.length = 0
}

const refuse = (res: http.ServerResponse, status: number, message: string) => {
  const body = JSON.stringify({ error: { message, type: "invalid_request_error", code: null, param: null } })
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

const parseRequest = (text: string): { readonly messages: ReadonlyArray<Message>; readonly stream: boolean } | string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return "body is not JSON"
  }
  if (typeof parsed !== "object" || parsed === null) return "body is not an object"
  const { messages, stream } = parsed as { messages?: unknown; stream?: unknown }
  if (!Array.isArray(messages) || messages.length === 0) return "messages: expected a non-empty array"
  for (const m of messages as Array<{ role?: unknown; content?: unknown }>) {
    if (typeof m?.role !== "string" || typeof m.content !== "string") return "messages: each needs a role and a content"
  }
  return { messages: messages as ReadonlyArray<Message>, stream: stream === true }
}

const answerJson = async (res: http.ServerResponse, body: { text(): Promise<string> }, id: string, started: number) => {
  const answer = JSON.parse(await body.text()) as Completion
  const out = JSON.stringify({
    id: answer.id,
    object: "chat.completion",
    created: answer.created,
    model: answer.model,
    choices: answer.choices.map((c) => ({ index: c.index, message: { role: c.message.role, content: c.message.content }, finish_reason: c.finish_reason })),
    ...(answer.usage ? { usage: answer.usage } : {})
  })
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(out),
    "x-modelgate-model": "gpt-4o-mini",
    "x-modelgate-provider": "openai",
    "x-modelgate-cache": "miss",
    "x-modelgate-failovers": "0",
    "x-modelgate-cost-usd": costOf(answer.usage).toFixed(8),
    "x-request-id": id
  })
  res.end(out)
  keep(id, answer.usage, started)
}

const answerStream = async (res: http.ServerResponse, body: AsyncIterable<string> & { setEncoding(e: "utf8"): unknown }, id: string, started: number) => {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-modelgate-model": "gpt-4o-mini",
    "x-modelgate-provider": "openai",
    "x-modelgate-cache": "miss",
    "x-modelgate-failovers": "0",
    "x-request-id": id
  })
  let pending = ""
  let usage: Usage | undefined
  body.setEncoding("utf8")
  for await (const text of body) {
    pending += text
    let end: number
    while ((end = pending.indexOf("\n\n")) >= 0) {
      const event = pending.slice(0, end)
      pending = pending.slice(end + 2)
      const data = event.startsWith("data: ") ? event.slice(6) : event
      if (data === "[DONE]") continue
      const chunk = JSON.parse(data) as Chunk
      if (chunk.usage) usage = chunk.usage
      const out = {
        id: chunk.id,
        object: "chat.completion.chunk",
        created: chunk.created,
        model: chunk.model,
        choices: chunk.choices.map((c) => ({ index: c.index, delta: c.delta, finish_reason: c.finish_reason ?? null })),
        ...(chunk.usage ? { usage: chunk.usage } : {})
      }
      res.write(`data: ${JSON.stringify(out)}\n\n`)
    }
  }
  res.end("data: [DONE]\n\n")
  keep(id, usage, started)
}

const server = http.createServer((req, res) => {
  const parts: Array<Buffer> = []
  req.on("data", (c: Buffer) => parts.push(c))
  req.on("end", () => {
    const request = parseRequest(Buffer.concat(parts).toString("utf8"))
    if (typeof request === "string") return refuse(res, 400, request)
    const upstreamBody = JSON.stringify({
      model: "gpt-4o-mini",
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      ...(request.stream ? { stream: true, stream_options: { include_usage: true } } : {})
    })
    const started = performance.now()
    const id = `req_${++sequence}`
    pool
      .request({ method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: "Bearer bench" }, body: upstreamBody })
      .then((up) => (request.stream ? answerStream(res, up.body, id, started) : answerJson(res, up.body, id, started)))
      .catch(() => (res.headersSent ? res.destroy() : refuse(res, 502, "upstream failed")))
  })
})
server.keepAliveTimeout = 60_000
server.listen(port, "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : 0}\n`)
})
