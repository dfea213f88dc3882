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
import * as fs from "node:fs"
import { chatBody, startServer } from "./micro-http-servers.js"

/** utime + stime of a process in ms, from /proc. */
const cpuMs = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return ((Number(stat[11]) + Number(stat[12])) * 1000) / 100
}

const load = async (port: number, pid: number, stream: boolean, seconds: number, connections: number) => {
  const body = chatBody(stream)
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

{
  const which = process.argv[2] ?? "both"
  const seconds = Number(process.argv[3] ?? 5)
  const connections = Number(process.argv[4] ?? 16)
  const modes = which === "both" ? [false, true] : [which === "stream"]
  process.stdout.write(`micro-http: ${seconds} s per run, concurrency ${connections}\n`)
  for (const role of ["bare", "gateway"]) {
    const { child, port } = await startServer(role)
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
