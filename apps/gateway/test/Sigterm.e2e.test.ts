/**
 * SIGTERM under load, end to end: the built `modelgate serve` in a child
 * process, pointed at fake providers running in this process; ~200 requests at
 * concurrency 20; SIGTERM mid-load. The process must exit 0, and every request
 * answered 200 must have exactly one cost record in the SQLite file.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import { Fault } from "@modelgate/testkit/FakeServer"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import Database from "better-sqlite3"
import { Effect } from "effect"
import * as Child from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { twoModels } from "./support/Registry.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const bin = path.join(root, "apps/gateway/dist/bin.js")

const TOTAL = 200
const CONCURRENCY = 20

const registry = twoModels("sigterm test", { openai: { rpm: 100_000, tpm: 100_000_000 }, anthropic: { rpm: 100_000, tpm: 100_000_000 } })

interface Outcome {
  readonly status: number
  readonly requestId: string | null
  readonly doneAt: number
}

/** Send `total` chat requests, `concurrency` at a time; `completed` counts 200s as they land. */
const load = (url: string, progress: { completed: number }) => {
  const outcomes: Array<Outcome> = []
  let next = 0
  const worker = async () => {
    while (next < TOTAL) {
      const i = next++
      try {
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `load request ${i}` }] })
        })
        await response.text()
        if (response.status === 200) progress.completed++
        outcomes.push({ status: response.status, requestId: response.headers.get("x-request-id"), doneAt: performance.now() })
      } catch {
        outcomes.push({ status: 0, requestId: null, doneAt: performance.now() })
      }
    }
  }
  return Promise.all(Array.from({ length: CONCURRENCY }, worker)).then(() => outcomes)
}

describe("SIGTERM under load", () => {
  beforeAll(() => {
    if (!fs.existsSync(bin)) Child.execSync("npx tsc -b apps/gateway", { cwd: root, stdio: "inherit" })
  }, 120_000)

  it.scopedLive("drains in-flight requests, exits 0, and every 200 has exactly one cost record", () =>
    Effect.gen(function* () {
      const openai = yield* FakeOpenAi.make()
      const anthropic = yield* FakeAnthropic.make()
      // each answer takes a little while, so that requests are in flight when the signal comes
      yield* openai.persist(Fault.delay({ headersMs: 40 }))
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-sigterm-"))),
        (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
      )
      const config = path.join(dir, "config")
      fs.mkdirSync(config)
      fs.writeFileSync(
        path.join(config, "gateway.json"),
        JSON.stringify({
          providers: {
            openai: { baseUrl: "http://127.0.0.1:9", maxRetries: 0, timeoutMs: 5_000 },
            anthropic: { baseUrl: "http://127.0.0.1:9", maxRetries: 0, timeoutMs: 5_000 }
          },
          server: { shutdownGraceMs: 10_000 },
          healthCheck: { enabled: false },
          cache: { enabled: false },
          records: { flushIntervalMs: 50 }
        })
      )
      fs.writeFileSync(path.join(config, "models.json"), JSON.stringify(registry))
      const db = path.join(dir, "data", "modelgate.db")

      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          Child.spawn(process.execPath, [bin, "serve", "--port", "0", "--config", config], {
            cwd: dir,
            env: {
              PATH: process.env.PATH ?? "",
              HOME: dir,
              OPENAI_BASE_URL: openai.baseUrl,
              ANTHROPIC_BASE_URL: anthropic.url,
              OPENAI_API_KEY: "sk-test-openai",
              ANTHROPIC_API_KEY: FakeAnthropic.defaultApiKey,
              MODELGATE_DB: db
            },
            stdio: ["ignore", "pipe", "pipe"]
          })
        ),
        (c) => Effect.sync(() => void (c.exitCode === null && c.signalCode === null && c.kill("SIGKILL")))
      )
      let output = ""
      child.stdout!.on("data", (b: Buffer) => void (output += b.toString()))
      child.stderr!.on("data", (b: Buffer) => void (output += b.toString()))
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.once("exit", (code, signal) => resolve({ code, signal }))
      )

      // the address from the log line
      const url = yield* Effect.promise(async () => {
        const deadline = performance.now() + 15_000
        while (performance.now() < deadline) {
          const match = /modelgate listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
          if (match !== null) return match[1]!
          if (child.exitCode !== null) break
          await new Promise((r) => setTimeout(r, 20))
        }
        return undefined
      })
      assert.isDefined(url, `no listening line; output:\n${output}`)

      // load, and SIGTERM once a third of it is done
      const progress = { completed: 0 }
      const running = load(url!, progress)
      const signalledAt = yield* Effect.promise(async () => {
        const deadline = performance.now() + 10_000
        while (progress.completed < TOTAL / 3 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2))
        child.kill("SIGTERM")
        return performance.now()
      })
      assert.isAtLeast(progress.completed, TOTAL / 3, "the load did not get going")
      const outcomes = yield* Effect.promise(() => running)
      const exit = yield* Effect.promise(() =>
        Promise.race([exited, new Promise<{ code: null; signal: string }>((r) => setTimeout(() => r({ code: null, signal: "timeout" }), 15_000))])
      )
      assert.deepStrictEqual(exit, { code: 0, signal: null }, `exit; output:\n${output.slice(-3_000)}`)

      const ok = outcomes.filter((o) => o.status === 200)
      assert.strictEqual(outcomes.length, TOTAL)
      // requests in flight at the signal were finished, not dropped
      assert.isAbove(ok.filter((o) => o.doneAt > signalledAt).length, 0, "no request in flight at SIGTERM completed")
      assert.isBelow(ok.length, TOTAL, "the signal came after the load had finished")
      // refused ones were refused cleanly: a 503 or a closed connection
      assert.isTrue(outcomes.every((o) => o.status === 200 || o.status === 503 || o.status === 0))
      assert.isTrue(ok.every((o) => o.requestId !== null && o.requestId.length > 0))

      const conn = new Database(db, { readonly: true })
      const rows = (() => {
        try {
          return conn.prepare("SELECT request_id AS id, COUNT(*) AS n FROM cost_records GROUP BY request_id").all() as Array<{ id: string; n: number }>
        } finally {
          conn.close()
        }
      })()
      const recorded = new Map(rows.map((r) => [r.id, r.n]))
      const missing = ok.filter((o) => !recorded.has(o.requestId!)).map((o) => o.requestId)
      assert.deepStrictEqual(missing, [], "answered requests without a cost record")
      const doubled = rows.filter((r) => r.n > 1)
      assert.deepStrictEqual(doubled, [], "cost records counted twice")
      // and each of them reached the provider
      assert.isAtLeast((yield* openai.requests).length, ok.length)
    }), 45_000)
})
