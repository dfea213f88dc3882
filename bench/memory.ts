/**
 * Memory over many requests through the gateway's HTTP server: starts the
 * bench upstream and `modelgate serve --config bench/config` (with
 * `--expose-gc` and `bench/memory-probe.cjs` preloaded), drives N requests
 * with autocannon in batches and prints, after each batch, the gateway's heap
 * and RSS after a full GC (asked over IPC), then the peak RSS and the heap
 * growth from the first batch to the last. Exits 1 when that growth exceeds
 * `MEMORY_MAX_GROWTH_MIB` (if set).
 *
 *   npx tsc -b && node --import tsx bench/memory.ts [requests] [batch]
 *
 * Defaults: 100 000 requests in batches of 10 000. Options (environment):
 * - `MEMORY_STREAM=1`: streaming requests; `MEMORY_CONNECTIONS` (default 16).
 * - `MEMORY_NODE_FLAGS`: extra node flags for the gateway (e.g.
 *   `--max-old-space-size=192`).
 * - `MEMORY_SNAPSHOTS=dir`: a heap snapshot after the first and the last batch
 *   (Chrome DevTools, Memory tab, "Comparison" view). Writing one grows the
 *   gateway's malloc heap by ~0.5 GiB that glibc keeps: the RSS and brk
 *   columns after it (and the peak RSS) are not the gateway's own.
 * - `MEMORY_ALLOC=1`: samples what the last batch allocates (objects already
 *   collected included) and prints the bytes per request of the top
 *   allocating functions; `MEMORY_ALLOC=promoted` leaves out what scavenges
 *   free, so it shows what reaches old space. The profile is written to
 *   `$TMPDIR/modelgate-memory.heapprofile`.
 * Columns: heap used and committed, external, RSS, and of the RSS the brk heap
 * (malloc) and the other anonymous mappings (mostly V8's 256 KiB pages).
 */
import autocannon from "autocannon"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const total = Number(process.argv[2] ?? 100_000)
const batch = Number(process.argv[3] ?? 10_000)
const stream = process.env.MEMORY_STREAM === "1"
const connections = Number(process.env.MEMORY_CONNECTIONS ?? 16)
const snapshots = process.env.MEMORY_SNAPSHOTS
const alloc = process.env.MEMORY_ALLOC === "1" || process.env.MEMORY_ALLOC === "promoted"
const flags = (process.env.MEMORY_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "")

const start = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}, ipc = false) =>
  new Promise<{ child: ChildProcess; port: number }>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit", ...(ipc ? ["ipc" as const] : [])]
    })
    let out = ""
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening (\d+)/.exec(out) ?? /http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m) resolve({ child, port: Number(m[1]) })
    })
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}: ${out}`)))
  })

const ask = <A>(child: ChildProcess, message: object): Promise<A> =>
  new Promise((resolve) => {
    const on = (m: unknown) => {
      child.off("message", on)
      resolve(m as A)
    }
    child.on("message", on)
    child.send(message)
  })

const mib = (n: number) => (n / 1024 / 1024).toFixed(1).padStart(7)

const main = async () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-memory-"))
  const upstream = await start(["--import", "tsx", "bench/upstream.ts", "0"])
  const gateway = await start(
    [...flags, "--expose-gc", "--require", "./bench/memory-probe.cjs", "apps/gateway/dist/bin.js", "serve", "--port", "0", "--config", "bench/config"],
    {
      OPENAI_BASE_URL: `http://127.0.0.1:${upstream.port}/v1`,
      OPENAI_API_KEY: "bench-key",
      MODELGATE_DB: path.join(data, "memory.db"),
      MODELGATE_LOG_LEVEL: "warning"
    },
    true
  )
  const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }], ...(stream ? { stream: true } : {}) })
  const heaps: Array<number> = []
  const report = async (done: number, errors: number) => {
    const { usage, maps } = await ask<{ usage: NodeJS.MemoryUsage; maps: { brk: number; anon: number } }>(gateway.child, { cmd: "mem" })
    heaps.push(usage.heapUsed)
    process.stdout.write(
      `${String(done).padStart(9)} ${mib(usage.heapUsed)} ${mib(usage.heapTotal)} ${mib(usage.external)} ${mib(usage.rss)} ${mib(maps.brk * 1024)} ${mib(maps.anon * 1024)} ${String(errors).padStart(7)}\n`
    )
  }
  const snap = async (name: string) => {
    if (snapshots === undefined) return
    fs.mkdirSync(snapshots, { recursive: true })
    const { file } = await ask<{ file: string }>(gateway.child, { cmd: "snap", file: path.resolve(snapshots, `${name}.heapsnapshot`) })
    process.stdout.write(`snapshot ${file} (RSS and brk from here on include the malloc the snapshot writer kept)\n`)
  }
  try {
    process.stdout.write(`modelgate memory: ${total} ${stream ? "streaming" : "json"} requests, ${connections} connections, node ${process.version}\n\n`)
    process.stdout.write(" requests heap MiB   total     ext     rss     brk    anon  errors\n")
    await report(0, 0)
    let done = 0
    let errors = 0
    while (done < total) {
      const amount = Math.min(batch, total - done)
      const last = done + amount >= total
      if (alloc && last) await ask(gateway.child, { cmd: "alloc-start", promoted: process.env.MEMORY_ALLOC === "promoted" })
      const result = await autocannon({
        url: `http://127.0.0.1:${gateway.port}/v1/chat/completions`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        amount
      })
      done += result.requests.total
      if (alloc && last) {
        const { top } = await ask<{ top: Array<[string, number]> }>(gateway.child, { cmd: "alloc-stop", file: path.resolve(os.tmpdir(), "modelgate-memory.heapprofile") })
        process.stdout.write(`\nallocated per request (sampled, last batch of ${result.requests.total}):\n`)
        for (const [f, bytes] of top) process.stdout.write(`${(bytes / result.requests.total / 1024).toFixed(2).padStart(9)} KiB  ${f}\n`)
        process.stdout.write(`${(top.reduce((a, [, b]) => a + b, 0) / result.requests.total / 1024).toFixed(1).padStart(9)} KiB  (top ${top.length} total)\n\n`)
      }
      errors += result.errors + result.non2xx
      await report(done, errors)
      if (done === amount) await snap("first")
    }
    await snap("last")
    const status = fs.readFileSync(`/proc/${gateway.child.pid}/status`, "utf8")
    process.stdout.write(`\ngateway peak RSS (VmHWM): ${mib(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024).trim()} MiB\n`)
    // From the first batch (code warmed up, windows and buffers filled) to the last.
    const growth = heaps.length > 2 ? heaps[heaps.length - 1]! - heaps[1]! : 0
    process.stdout.write(`heap growth after the first batch: ${mib(growth).trim()} MiB over ${done - batch} requests\n`)
    const limit = process.env.MEMORY_MAX_GROWTH_MIB
    if (limit !== undefined && growth > Number(limit) * 1024 * 1024) {
      process.stdout.write(`FAIL: more than MEMORY_MAX_GROWTH_MIB=${limit}\n`)
      process.exitCode = 1
    }
  } finally {
    for (const p of [upstream, gateway]) p.child.kill("SIGTERM")
    fs.rmSync(data, { recursive: true, force: true })
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
