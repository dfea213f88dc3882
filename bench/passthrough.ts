/**
 * The baseline: a bare Node pass-through proxy (node:http + undici Pool)
 * forwarding bytes unchanged. Run as a child process:
 * `node --import tsx bench/passthrough.ts <port> <upstream-origin>`.
 */
import * as http from "node:http"
import { Pool } from "undici"

const port = Number(process.argv[2] ?? 0)
const origin = process.argv[3] ?? "http://127.0.0.1:1"
const pool = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 })

const server = http.createServer((req, res) => {
  const parts: Array<Buffer> = []
  req.on("data", (c: Buffer) => parts.push(c))
  req.on("end", () => {
    pool.request({
      method: req.method as "POST",
      path: req.url ?? "/",
      headers: { "content-type": req.headers["content-type"] ?? "application/json", authorization: req.headers.authorization ?? "" },
      body: Buffer.concat(parts)
    }).then(
      (up) => {
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(up.headers)) if (typeof v === "string" && k !== "content-length" && k !== "transfer-encoding" && k !== "connection" && k !== "keep-alive") headers[k] = v
        res.writeHead(up.statusCode, headers)
        up.body.on("data", (c: Buffer) => res.write(c))
        up.body.on("end", () => res.end())
        up.body.on("error", () => res.destroy())
      },
      () => {
        res.writeHead(502)
        res.end()
      }
    )
  })
})
server.keepAliveTimeout = 60_000
server.listen(port, "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : 0}\n`)
})
