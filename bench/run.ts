/**
 * `npm run bench`: the upstream, a bare pass-through proxy, a proxy that reads
 * its traffic (`reading-proxy.ts`) and the gateway on loopback, each in its
 * own process; autocannon drives each at concurrency 1, 16 and 64,
 * non-streaming, streaming, and streaming a long answer; prints requests/s,
 * p50/p99 latency, CPU time per request (from /proc), the gateway's peak RSS,
 * and the ratios against the pass-through, the reading proxy and the direct
 * upstream.
 */
import autocannon from "autocannon"
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Pool } from "undici"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const duration = Number(process.env.BENCH_SECONDS ?? 5)
const concurrencies = (process.env.BENCH_CONCURRENCY ?? "1,16,64").split(",").map(Number)

const start = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening (\d+)/.exec(out) ?? /http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m) resolve({ child, port: Number(m[1]) })
    })
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}: ${out}`)))
  })

/** utime + stime of a process in ms, and its RSS in bytes, from /proc. */
const procStats = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    const ticks = Number(stat[11]) + Number(stat[12])
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
    return { cpuMs: (ticks * 1000) / 100, rss, hwm }
  } catch {
    return { cpuMs: NaN, rss: NaN, hwm: NaN }
  }
}

/**
 * What is asked: a complete answer (`json`), the short streamed answer of 8
 * events (`stream`), or a long one of 203 events written one by one (`long`,
 * see upstream.ts): what streaming costs per event, as a model's answers come.
 */
type Mode = "json" | "stream" | "long"
const modes: ReadonlyArray<Mode> = ["json", "stream", "long"]

const body = (mode: Mode, model: string) =>
  JSON.stringify({
    model,
    messages: [{ role: "user", content: mode === "long" ? "long-stream" : "Say hello." }],
    ...(mode === "json" ? {} : { stream: true })
  })

interface Row {
  target: string
  mode: string
  concurrency: number
  rps: number
  p50: number
  p99: number
  cpuPerReq: number
  errors: number
}

const load = async (target: string, url: string, pid: number | undefined, mode: Mode, concurrency: number, model: string): Promise<Row> => {
  const before = pid ? procStats(pid) : undefined
  const result = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer bench" },
    body: body(mode, model),
    connections: concurrency,
    duration
  })
  const after = pid ? procStats(pid) : undefined
  const requests = result.requests.total
  return {
    target,
    mode,
    concurrency,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerReq: before && after && requests > 0 ? (after.cpuMs - before.cpuMs) / requests : NaN,
    errors: result.errors + result.non2xx
  }
}

/** Makes the bench upstream pause 20 ms after the first streamed event (see upstream.ts). */
const firstBytePrompt = "first-byte-probe"
const probeRequests = Number(process.env.BENCH_PROBE_REQUESTS ?? 500)

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN

interface Probe {
  readonly target: string
  /** Sequential non-streaming requests: time to the end of the answer, ms. */
  readonly json: { readonly p50: number; readonly p99: number }
  /** Sequential streaming requests whose upstream pauses after the first event: time to the first body byte, ms. */
  readonly firstByte: { readonly p50: number; readonly p99: number }
  /** The same requests: time to the first byte of the answer's text (its first non-empty `content`), ms. */
  readonly firstContent: { readonly p50: number; readonly p99: number }
}

/** Where a streamed body's text shows its first non-empty `content` (OpenAI chunks, the gateway's and the upstream's). */
const firstText = /"content":"[^"]/

/**
 * Latency at concurrency 1 to the microsecond (autocannon reports whole
 * milliseconds): `probeRequests` sequential requests on one kept-alive
 * connection, after a warm-up of the same size.
 */
const probe = async (target: string, url: string): Promise<Probe> => {
  const pool = new Pool(url, { connections: 1 })
  const once = async (stream: boolean): Promise<readonly [end: number, content: number]> => {
    const payload = stream
      ? JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: firstBytePrompt }], stream: true })
      : body("json", "gpt-4o-mini")
    const started = process.hrtime.bigint()
    const response = await pool.request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer bench" },
      body: payload
    })
    let first: bigint | undefined
    let content: bigint | undefined
    let text = ""
    for await (const chunk of response.body) {
      const now = process.hrtime.bigint()
      first ??= now
      if (stream && content === undefined) {
        text += String(chunk)
        if (firstText.test(text)) content = now
      }
    }
    const done = process.hrtime.bigint()
    const end = stream ? first ?? done : done
    if (response.statusCode !== 200) throw new Error(`${target}: status ${response.statusCode}`)
    return [Number(end - started) / 1e6, Number((content ?? done) - started) / 1e6]
  }
  const summary = (times: Array<number>) => {
    times.sort((a, b) => a - b)
    return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) }
  }
  const run = async (stream: boolean) => {
    for (let i = 0; i < probeRequests; i++) await once(stream)
    const ends: Array<number> = []
    const contents: Array<number> = []
    for (let i = 0; i < probeRequests; i++) {
      const [end, content] = await once(stream)
      ends.push(end)
      contents.push(content)
    }
    return { end: summary(ends), content: summary(contents) }
  }
  try {
    const json = (await run(false)).end
    const streamed = await run(true)
    return { target, json, firstByte: streamed.end, firstContent: streamed.content }
  } finally {
    await pool.close()
  }
}

const main = async () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-bench-"))
  const upstream = await start(["--import", "tsx", "bench/upstream.ts", "0"])
  const origin = `http://127.0.0.1:${upstream.port}`
  const pass = await start(["--import", "tsx", "bench/passthrough.ts", "0", origin])
  const reading = await start(["--import", "tsx", "bench/reading-proxy.ts", "0", origin])
  const gateway = await start(["apps/gateway/dist/bin.js", "serve", "--port", "0", "--config", "bench/config"], {
    OPENAI_BASE_URL: `${origin}/v1`,
    OPENAI_API_KEY: "bench-key",
    MODELGATE_DB: path.join(data, "bench.db"),
    MODELGATE_LOG_LEVEL: "warning",
    // The requests send `Bearer bench`: a MODELGATE_MASTER_KEY of the environment (or .env) must not apply.
    MODELGATE_MASTER_KEY: "bench"
  })
  const rows: Array<Row> = []
  const probes: Array<Probe> = []
  try {
    probes.push(await probe("direct", origin))
    probes.push(await probe("passthrough", `http://127.0.0.1:${pass.port}`))
    probes.push(await probe("reading", `http://127.0.0.1:${reading.port}`))
    probes.push(await probe("gateway", `http://127.0.0.1:${gateway.port}`))
    for (const mode of modes) {
      for (const c of concurrencies) {
        rows.push(await load("direct", origin, undefined, mode, c, "gpt-4o-mini"))
        rows.push(await load("passthrough", `http://127.0.0.1:${pass.port}`, pass.child.pid, mode, c, "gpt-4o-mini"))
        rows.push(await load("reading", `http://127.0.0.1:${reading.port}`, reading.child.pid, mode, c, "gpt-4o-mini"))
        rows.push(await load("gateway", `http://127.0.0.1:${gateway.port}`, gateway.child.pid, mode, c, "gpt-4o-mini"))
      }
    }
  } finally {
    const peak = procStats(gateway.child.pid!).hwm
    for (const p of [upstream, pass, reading, gateway]) p.child.kill("SIGTERM")
    const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "-")
    process.stdout.write(`\nmodelgate bench: ${duration}s per run, ${os.cpus().length} cores, node ${process.version}\n\n`)
    process.stdout.write("target       mode    conc   req/s      p50ms  p99ms  cpu ms/req  errors\n")
    for (const r of rows) {
      process.stdout.write(
        `${r.target.padEnd(12)} ${r.mode.padEnd(7)} ${String(r.concurrency).padStart(4)} ${fmt(r.rps, 0).padStart(8)} ${fmt(r.p50).padStart(8)} ${fmt(r.p99).padStart(6)} ${fmt(r.cpuPerReq, 3).padStart(11)} ${String(r.errors).padStart(7)}\n`
      )
    }
    process.stdout.write("\nratios (gateway vs pass-through / vs direct; the reading proxy vs pass-through):\n")
    for (const mode of modes) {
      for (const c of concurrencies) {
        const find = (t: string) => rows.find((r) => r.target === t && r.mode === mode && r.concurrency === c)
        const g = find("gateway"), p = find("passthrough"), d = find("direct"), r = find("reading")
        if (!g || !p || !d || !r) continue
        process.stdout.write(
          `${mode.padEnd(7)} c=${String(c).padEnd(3)} throughput ${fmt(g.rps / p.rps)}x pass-through, ${fmt(g.rps / d.rps)}x direct; added p50 ${fmt(g.p50 - d.p50)} ms over direct; cpu/req ${fmt(g.cpuPerReq / p.cpuPerReq)}x pass-through` +
            ` (reading proxy: throughput ${fmt(r.rps / p.rps)}x, cpu/req ${fmt(r.cpuPerReq / p.cpuPerReq)}x)\n`
        )
      }
    }
    const us = (ms: number) => fmt(ms * 1000, 0)
    process.stdout.write(
      `\nconcurrency 1, ${probeRequests} sequential requests each (us; first byte: upstream pauses 20 ms after its first event, a role-only chunk; first content: the first byte of the answer's text):\n`
    )
    process.stdout.write("target       json p50  json p99  first-byte p50  first-byte p99  first-content p50  first-content p99\n")
    for (const p of probes) {
      process.stdout.write(
        `${p.target.padEnd(12)} ${us(p.json.p50).padStart(8)} ${us(p.json.p99).padStart(9)} ${us(p.firstByte.p50).padStart(15)} ${us(p.firstByte.p99).padStart(15)}` +
          ` ${us(p.firstContent.p50).padStart(18)} ${us(p.firstContent.p99).padStart(18)}\n`
      )
    }
    const direct = probes.find((p) => p.target === "direct")
    for (const p of probes) {
      if (p === direct || direct === undefined) continue
      process.stdout.write(
        `${p.target}: added p50 ${us(p.json.p50 - direct.json.p50)} us (json), added first byte p50 ${us(p.firstByte.p50 - direct.firstByte.p50)} us,` +
          ` added first content p50 ${us(p.firstContent.p50 - direct.firstContent.p50)} us\n`
      )
    }
    process.stdout.write(`\ngateway peak RSS: ${fmt(peak / 1024 / 1024, 1)} MiB\n`)
    fs.rmSync(data, { recursive: true, force: true })
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
