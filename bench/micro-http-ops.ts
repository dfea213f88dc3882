/**
 * Effect ops and fibers per request of the HTTP layer alone (noise-free): the
 * gateway's HTTP app (`HttpApp.serve`, apps/gateway `dist`, tracer off like
 * `modelgate serve`) over the same Gateway double as `micro-http.ts`, in this
 * process, driven by plain `node:http` requests (no Effect on the client side),
 * so `globalThis.__mg` (the counting patch of `node_modules/effect`, see
 * `node bench/effect-counters.mjs`) counts only the server. Also prints process CPU per request
 * (client included, so only for A/B).
 *
 *   node --import tsx bench/micro-http-ops.ts [json|stream|bad|404|all] [requests] [concurrency]
 */
import { NodeRuntime } from "@effect/platform-node"
import { HttpServer } from "@effect/platform"
import { Deferred, Effect, Layer } from "effect"
import * as Http from "node:http"
import * as HttpApp from "../apps/gateway/dist/HttpApp.js"
import { services } from "../apps/gateway/test/support/Doubles.js"
import { gatewayDouble } from "./http-double.js"

const gateway = await gatewayDouble()

const port = await new Promise<number>((resolve) => {
  const ready = Layer.scopedDiscard(
    Effect.flatMap(HttpServer.HttpServer, (server) =>
      Effect.sync(() => resolve(server.address._tag === "TcpAddress" ? server.address.port : 0)))
  )
  const main = Layer.provideMerge(ready, HttpApp.serve({ port: 0, host: "127.0.0.1" })).pipe(
    Layer.provide(services(gateway)),
    Layer.provide(Layer.setTracerEnabled(false))
  )
  NodeRuntime.runMain(Effect.zipRight(Layer.launch(main), Deferred.make<void>()), { disableErrorReporting: true })
})

const agent = new Http.Agent({ keepAlive: true, maxSockets: 64 })
const bodies: Record<string, { path: string; body: string; status: number }> = {
  json: { path: "/v1/chat/completions", body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] }), status: 200 },
  stream: {
    path: "/v1/chat/completions",
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }], stream: true }),
    status: 200
  },
  bad: { path: "/v1/chat/completions", body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "robot", content: "x" }] }), status: 400 },
  "404": { path: "/v1/nothing", body: "{}", status: 404 }
}

const one = (kind: string) =>
  new Promise<void>((resolve, reject) => {
    const { path, body, status } = bodies[kind]!
    const req = Http.request(
      { host: "127.0.0.1", port, path, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume()
        res.on("end", () => (res.statusCode === status ? resolve() : reject(new Error(`${kind}: status ${res.statusCode}`))))
      }
    )
    req.on("error", reject)
    req.end(body)
  })

const run = async (kind: string, n: number, concurrency: number) => {
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      await one(kind)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

interface Counter { fibers: number; ops: number }
const counter = (): Counter => (globalThis as unknown as { __mg?: Counter }).__mg ?? { fibers: 0, ops: 0 }

const which = process.argv[2] ?? "all"
const n = Number(process.argv[3] ?? 2000)
const concurrency = Number(process.argv[4] ?? 16)
for (const kind of which === "all" ? ["json", "stream", "bad", "404"] : [which]) {
  await run(kind, Math.min(n, 2000), concurrency)
  const ops0 = counter().ops
  const fibers0 = counter().fibers
  const cpu0 = process.cpuUsage()
  await run(kind, n, concurrency)
  const cpu = process.cpuUsage(cpu0)
  process.stdout.write(
    `${kind.padEnd(7)} ops/req ${((counter().ops - ops0) / n).toFixed(1).padStart(7)}  fibers/req ${((counter().fibers - fibers0) / n).toFixed(2)}  cpu/req (client+server) ${((cpu.user + cpu.system) / n).toFixed(0)} us\n`
  )
}
agent.destroy()
process.kill(process.pid, "SIGINT")
