/**
 * Micro benchmark of the HTTP layer alone: the gateway's HTTP app
 * (`HttpApp.serve`, apps/gateway/src) in a child process over a Gateway double
 * that answers at once, loaded by autocannon from this process. Prints
 * requests/s and the server's CPU time per request (utime+stime from /proc),
 * next to a bare `node:http` server answering the same bytes (the floor).
 *
 *   node --import tsx bench/micro-http.ts [json|stream|both] [seconds] [concurrency]
 *
 * Defaults: both, 5 s, concurrency 16. `MICRO_HTTP_PROF=dir` writes a CPU
 * profile of each server to `dir` (`--cpu-prof`). The app runs from its
 * `dist` like the packages: build first (`npx tsc -b`).
 */
import autocannon from "autocannon"
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as Http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { answer, chunks, gatewayDouble } from "./http-double.js"

const self = fileURLToPath(import.meta.url)
const root = path.resolve(path.dirname(self), "..")

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

const start = (role: string): Promise<{ child: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const prof = process.env.MICRO_HTTP_PROF
    const flags = prof === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${prof}`]
    const child = spawn(process.execPath, [...flags, "--import", "tsx", self, "serve", role], {
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

/** utime + stime of a process in ms, from /proc. */
const cpuMs = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return ((Number(stat[11]) + Number(stat[12])) * 1000) / 100
}

const load = async (port: number, pid: number, stream: boolean, seconds: number, connections: number) => {
  const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }], ...(stream ? { stream: true } : {}) })
  const run = (duration: number) =>
    autocannon({
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      connections,
      duration
    })
  await run(Math.min(2, seconds))
  const before = cpuMs(pid)
  const result = await run(seconds)
  const used = cpuMs(pid) - before
  const requests = result.requests.total
  return { rps: result.requests.average, cpuUs: (used * 1000) / requests, errors: result.errors + result.non2xx }
}

if (process.argv[2] === "serve") {
  if (process.argv[3] === "bare") serveBare()
  else await serveGateway()
} else {
  const which = process.argv[2] ?? "both"
  const seconds = Number(process.argv[3] ?? 5)
  const connections = Number(process.argv[4] ?? 16)
  const modes = which === "both" ? [false, true] : [which === "stream"]
  process.stdout.write(`micro-http: ${seconds} s per run, concurrency ${connections}\n`)
  for (const role of ["bare", "gateway"]) {
    const { child, port } = await start(role)
    for (const stream of modes) {
      const row = await load(port, child.pid!, stream, seconds, connections)
      process.stdout.write(
        `${role.padEnd(8)} ${(stream ? "stream" : "json").padEnd(7)} ${row.rps.toFixed(0).padStart(6)} req/s  ${row.cpuUs.toFixed(0).padStart(5)} us cpu/req  errors ${row.errors}\n`
      )
    }
    child.kill("SIGINT")
    await new Promise((resolve) => child.once("exit", resolve))
  }
}
