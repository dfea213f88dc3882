/**
 * SIGTERM under load, end to end: the built `modelgate serve` in a child
 * process, pointed at fake providers running in this process. 100 requests are
 * answered at concurrency 20; then the fake holds the next 20 at the provider,
 * so that they are provably in flight when SIGTERM comes; requests sent after
 * the gateway stopped accepting are refused; then the fake answers the held
 * ones. They must all be answered 200, the process must exit 0, and every
 * request answered 200 must have exactly one cost record in the SQLite file.
 *
 * No step races real time: each wait is for an event (the fake holds n
 * requests, the port closes, the process exits) and gives up only as a hang
 * detector (support/HangDetector.ts), with a message naming what hung. The
 * gateway's own real-time bounds (provider timeout, shutdown grace) are far
 * beyond those detectors.
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
import { hangAfterMs, settles, until } from "./support/HangDetector.js"
import { twoModels } from "./support/Registry.js"
import { accepts } from "./support/Tcp.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const bin = path.join(root, "apps/gateway/dist/bin.js")

/** Answered before the signal. */
const WARM = 100
const CONCURRENCY = 20
/** Held at the provider while SIGTERM comes. */
const HELD = 20
/** Sent once the gateway has stopped accepting. */
const LATE = 10

const registry = twoModels("sigterm test", { openai: { rpm: 100_000, tpm: 100_000_000 }, anthropic: { rpm: 100_000, tpm: 100_000_000 } })

interface Outcome {
  readonly status: number
  readonly requestId: string | null
  readonly body: string
}

/** One chat request; status 0 when the connection was refused or closed without an answer. */
const chat = (url: string, i: number): Promise<Outcome> =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `load request ${i}` }] })
  }).then(
    async (response) => ({ status: response.status, requestId: response.headers.get("x-request-id"), body: await response.text() }),
    (error: unknown) => ({ status: 0, requestId: null, body: String(error) })
  )

/** Requests `from` until `to` (exclusive), `concurrency` at a time; outcomes in request order. */
const load = (url: string, from: number, to: number, concurrency: number): Promise<ReadonlyArray<Outcome>> => {
  const outcomes: Array<Outcome> = []
  let next = from
  const worker = async () => {
    while (next < to) {
      const i = next++
      outcomes[i - from] = await chat(url, i)
    }
  }
  return Promise.all(Array.from({ length: concurrency }, worker)).then(() => outcomes)
}

const summary = (outcomes: ReadonlyArray<Outcome>) => outcomes.map((o) => `${o.status} ${o.body.slice(0, 200)}`).join("\n")

describe("SIGTERM under load", () => {
  beforeAll(() => {
    if (!fs.existsSync(bin)) Child.execSync("npx tsc -b apps/gateway", { cwd: root, stdio: "inherit" })
  }, 120_000)

  it.scopedLive("drains in-flight requests, refuses new ones, exits 0, and every 200 has exactly one cost record", () =>
    Effect.gen(function* () {
      const openai = yield* FakeOpenAi.make()
      const anthropic = yield* FakeAnthropic.make()
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-sigterm-"))),
        (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
      )
      const config = path.join(dir, "config")
      fs.mkdirSync(config)
      // The gateway's real-time bounds are hang detectors too: far beyond the test's own, so that a
      // slow machine cannot time out a held request or cut the drain short.
      const providerTimeoutMs = 10 * hangAfterMs
      fs.writeFileSync(
        path.join(config, "gateway.json"),
        JSON.stringify({
          providers: {
            openai: { baseUrl: "http://127.0.0.1:9", maxRetries: 0, timeoutMs: providerTimeoutMs },
            anthropic: { baseUrl: "http://127.0.0.1:9", maxRetries: 0, timeoutMs: providerTimeoutMs }
          },
          server: { shutdownGraceMs: 10 * hangAfterMs },
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
      const tail = () => `; gateway output:\n${output.slice(-3_000)}`

      // the address from the log line (start-up includes the SQLite migrations and the record writer's thread)
      const url = yield* until(
        "modelgate serve start-up (its `modelgate listening on` line)",
        Effect.sync(() => {
          const match = /modelgate listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
          if (match !== null) return match[1]!
          if (child.exitCode !== null || child.signalCode !== null) {
            return assert.fail(`modelgate serve exited (${child.exitCode ?? child.signalCode}) before listening${tail()}`)
          }
          return undefined
        }),
        tail
      )
      const port = Number(new URL(url).port)

      // load: answered before the signal
      const warm = yield* settles(`${WARM} requests at concurrency ${CONCURRENCY} before the signal`, () => load(url, 0, WARM, CONCURRENCY), tail)
      assert.deepStrictEqual(warm.map((o) => o.status), warm.map(() => 200), `before the signal:\n${summary(warm)}${tail()}`)

      // the next requests wait at the provider: provably in flight when the signal comes
      const gate = yield* Effect.makeLatch(false)
      yield* openai.persist(Fault.hold(gate))
      const inFlight = load(url, WARM, WARM + HELD, HELD)
      yield* openai.awaitHeld(HELD, hangAfterMs)
      child.kill("SIGTERM")

      // the gateway stops accepting while they are still held ...
      yield* until("the gateway to close its port after SIGTERM", Effect.map(accepts(port), (open) => (open ? undefined : true)), tail)
      // ... so new requests are refused (a 503 on a connection still open, or no connection), and reach no provider
      const late = yield* settles(`${LATE} requests after the port closed`, () => load(url, WARM + HELD, WARM + HELD + LATE, LATE), tail)
      assert.isTrue(late.every((o) => o.status === 503 || o.status === 0), `after the signal:\n${summary(late)}`)
      assert.lengthOf(yield* openai.requests, WARM + HELD, "a request sent after the signal reached the provider")

      // the provider answers the held requests: the drain lets them finish
      yield* gate.open
      const drained = yield* settles(`the ${HELD} requests in flight at SIGTERM`, () => inFlight, tail)
      assert.deepStrictEqual(drained.map((o) => o.status), drained.map(() => 200), `in flight at SIGTERM:\n${summary(drained)}${tail()}`)

      const exit = yield* settles("modelgate serve to exit after SIGTERM", () => exited, tail)
      assert.deepStrictEqual(exit, { code: 0, signal: null }, `exit${tail()}`)

      const ok = [...warm, ...drained]
      const ids = ok.map((o) => o.requestId)
      assert.isTrue(ids.every((id) => id !== null && id.length > 0), "an answer without x-request-id")
      assert.strictEqual(new Set(ids).size, ok.length, "two answers with one x-request-id")
      // each of them reached the provider once; none failed over
      assert.lengthOf(yield* openai.requests, ok.length)
      assert.lengthOf(yield* anthropic.requests, 0)

      const conn = new Database(db, { readonly: true })
      const rows = (() => {
        try {
          return conn.prepare("SELECT request_id AS id, COUNT(*) AS n FROM cost_records GROUP BY request_id").all() as Array<{ id: string; n: number }>
        } finally {
          conn.close()
        }
      })()
      const recorded = new Map(rows.map((r) => [r.id, r.n]))
      const missing = ids.filter((id) => !recorded.has(id!))
      assert.deepStrictEqual(missing, [], `answered requests without a cost record${tail()}`)
      const doubled = rows.filter((r) => r.n > 1)
      assert.deepStrictEqual(doubled, [], "cost records counted twice")
      const unanswered = rows.filter((r) => !ids.includes(r.id))
      assert.deepStrictEqual(unanswered, [], "cost records of requests not answered 200")
    }), 10 * hangAfterMs)
})
