/**
 * The two servers of the HTTP micro benchmarks (`micro-http.ts`,
 * `micro-http-latency.ts`), each started in a child process by `startServer`:
 * the gateway's HTTP app (`HttpApp.serve`, apps/gateway/dist) over the
 * Gateway double of `http-double.ts`, and a bare `node:http` server answering
 * the same bytes (the floor). `MICRO_HTTP_PROF=dir` writes a CPU profile of
 * each server to `dir` (`--cpu-prof`). Run alone it serves one of them:
 *
 *   node --import tsx bench/micro-http-servers.ts gateway|bare
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as Http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { answer, chunks, gatewayDouble } from "./http-double.js"

const self = fileURLToPath(import.meta.url)
const root = path.resolve(path.dirname(self), "..")

/** The chat request both benchmarks send (streamed when `stream`). */
export const chatBody = (stream: boolean): string =>
  JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }], ...(stream ? { stream: true } : {}) })

/** The gateway's HTTP app over a Gateway double, listening on a free port. */
const serveGateway = async () => {
  const { Layer } = await import("effect")
  const { NodeRuntime } = await import("@effect/platform-node")
  const HttpApp = await import("../apps/gateway/dist/HttpApp.js")
  const { services } = await import("../apps/gateway/test/support/Doubles.js")
  const gateway = await gatewayDouble()
  // Like `modelgate serve`: Effect's tracer off.
  const main = HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(
    Layer.provide(services(gateway)),
    Layer.provide(Layer.setTracerEnabled(false))
  )
  NodeRuntime.runMain(Layer.launch(main))
}

/** A bare node:http server answering the same bytes: what node:http alone costs. */
const serveBare = () => {
  const json = JSON.stringify(answer)
  const sse = chunks.slice(0, 2).map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n"
  const server = Http.createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (d: Buffer) => parts.push(d))
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as { stream?: boolean }
      if (body.stream === true) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
        res.end(sse)
      } else {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(json)
      }
    })
  })
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    process.stdout.write(`listening ${typeof address === "object" && address !== null ? address.port : 0}\n`)
  })
}

/** Start the `role` server in a child process; resolves with it and its port once it listens. */
export const startServer = (role: string): Promise<{ child: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const prof = process.env.MICRO_HTTP_PROF
    const flags = prof === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${prof}`]
    const child = spawn(process.execPath, [...flags, "--import", "tsx", self, role], {
      cwd: root,
      env: { ...process.env, MODELGATE_MASTER_KEY: "" },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening (\d+)/.exec(out) ?? /http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m) resolve({ child, port: Number(m[1]) })
    })
    child.on("exit", (code) => reject(new Error(`${role} server exited with ${code}: ${out}`)))
  })

if (process.argv[1] === self) {
  if (process.argv[2] === "bare") serveBare()
  else await serveGateway()
}
