/**
 * Where a request's time goes at concurrency 1, seen from the gateway's
 * process: `node --import tsx bench/micro-latency-timeline.ts [requests]`
 * (build first: `npx tsc -b`). Starts the bench upstream and `modelgate serve`
 * with this file preloaded, sends `requests` sequential requests of each kind
 * (json, stream, first-byte probe: see upstream.ts) after as many to warm up,
 * and prints the median time of each step from the request's arrival (Node's
 * `http.server.request.start`), in us: undici's request created, its bytes
 * written to the upstream socket, the upstream's first bytes read, undici's
 * headers, the first write to the client's socket, the response finished.
 * `idle` is the event loop's idle time so far (ELU): 0 means the process was
 * busy (or not scheduled) the whole time. Socket writes are marked where Node
 * hands them to the kernel (`_writev` / `_writeGeneric`), so a write corked
 * until a later tick shows when it really left.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Preloaded into the gateway (plain JS written to a temporary file, as the
 * record worker thread inherits the preload too; it marks the main thread
 * only): record the steps of each request, write the medians on SIGUSR2.
 */
const preload = (out: string, upstreamPort: number) => `
import diagnostics from "node:diagnostics_channel"
import * as fs from "node:fs"
import * as net from "node:net"
import { performance } from "node:perf_hooks"
import { Readable } from "node:stream"
import { isMainThread } from "node:worker_threads"
if (isMainThread) {
  const now = () => performance.now() * 1000
  const idleUs = () => performance.eventLoopUtilization().idle * 1000
  let t0 = 0, i0 = 0, steps = []
  const runs = new Map()
  const mark = (name) => { if (t0 !== 0) steps.push([name, now() - t0, idleUs() - i0]) }
  const flush = () => {
    if (steps.length === 0) return
    const key = steps.map((s) => s[0]).join(",")
    runs.set(key, [...(runs.get(key) ?? []), steps])
  }
  diagnostics.subscribe("http.server.request.start", () => { flush(); t0 = now(); i0 = idleUs(); steps = []; mark("request arrived") })
  diagnostics.subscribe("http.server.response.finish", () => mark("response finished"))
  diagnostics.subscribe("undici:request:create", () => mark("undici request created"))
  diagnostics.subscribe("undici:request:headers", () => mark("undici headers"))
  diagnostics.subscribe("undici:request:trailers", () => mark("undici body complete"))
  const isUpstream = (socket) => socket.remotePort === ${upstreamPort}
  const isClient = (socket) => socket.server != null
  const push = Readable.prototype.push
  net.Socket.prototype.push = function (chunk, encoding) {
    if (chunk != null && isUpstream(this)) mark("upstream bytes read")
    return push.call(this, chunk, encoding)
  }
  const writeGeneric = net.Socket.prototype._writeGeneric
  net.Socket.prototype._writeGeneric = function (...args) {
    if (isUpstream(this)) mark("upstream write")
    else if (isClient(this)) mark("client write")
    return writeGeneric.apply(this, args)
  }
  process.on("SIGUSR2", () => {
    flush()
    const lines = []
    const [common] = [...runs.values()].sort((a, b) => b.length - a.length)
    if (common !== undefined) {
      lines.push("(" + common.length + " requests with this sequence of steps)")
      common[0].forEach(([name], i) => {
        const median = (j) => common.map((s) => s[i][j]).sort((a, b) => a - b)[common.length >> 1]
        lines.push(name.padEnd(24) + median(1).toFixed(0).padStart(7) + " us   idle " + median(2).toFixed(0))
      })
    }
    fs.writeFileSync(${JSON.stringify(out)}, lines.join("\\n") + "\\n")
    runs.clear()
  })
}
`

const start = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ readonly child: ReturnType<typeof spawn>; readonly port: number }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] })
    let text = ""
    child.stdout!.on("data", (d: Buffer) => {
      text += d.toString()
      const m = /listening (\d+)/.exec(text) ?? /http:\/\/127\.0\.0\.1:(\d+)/.exec(text)
      if (m) resolve({ child, port: Number(m[1]) })
    })
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}: ${text}`)))
  })

const main = async () => {
  const { Pool } = await import("undici")
  const n = Number(process.argv[2] ?? 300)
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-timeline-"))
  const out = path.join(data, "timeline.txt")
  const upstream = await start(["--import", "tsx", "bench/upstream.ts", "0"])
  const marks = path.join(data, "marks.mjs")
  fs.writeFileSync(marks, preload(out, upstream.port))
  const gateway = await start(["--import", marks, "apps/gateway/dist/bin.js", "serve", "--port", "0", "--config", "bench/config"], {
    OPENAI_BASE_URL: `http://127.0.0.1:${upstream.port}/v1`,
    OPENAI_API_KEY: "bench-key",
    MODELGATE_DB: path.join(data, "bench.db"),
    MODELGATE_LOG_LEVEL: "warning"
  })
  const pool = new Pool(`http://127.0.0.1:${gateway.port}`, { connections: 1 })
  try {
    for (const kind of ["json", "stream", "probe"] as const) {
      const body = JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: kind === "probe" ? "first-byte-probe" : "Say hello." }],
        ...(kind === "json" ? {} : { stream: true })
      })
      for (let i = 0; i < 2 * n; i++) {
        if (i === n) gateway.child.kill("SIGUSR2") // the warm-up's steps are dropped
        const response = await pool.request({ path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json" }, body })
        for await (const _ of response.body) void _
      }
      if (fs.existsSync(out)) fs.rmSync(out)
      gateway.child.kill("SIGUSR2")
      while (!fs.existsSync(out)) await new Promise((resolve) => setTimeout(resolve, 50))
      await new Promise((resolve) => setTimeout(resolve, 50))
      process.stdout.write(`== ${kind}\n${fs.readFileSync(out, "utf8")}`)
    }
  } finally {
    await pool.close()
    gateway.child.kill("SIGINT")
    upstream.child.kill()
  }
}

await main()
