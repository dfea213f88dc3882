/**
 * The built `modelgate serve` in a child process on a temporary directory,
 * pointed at fake providers of this process (shared by the shutdown probes).
 */
import { assert } from "@effect/vitest"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import Database from "better-sqlite3"
import { Effect } from "effect"
import * as Child from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { until } from "./HangDetector.js"
import { twoModels } from "./Registry.js"

const root = fileURLToPath(new URL("../../../../", import.meta.url))
export const bin = path.join(root, "apps/gateway/dist/bin.js")

export const ensureBuilt = () => {
  if (!fs.existsSync(bin)) Child.execSync("npx tsc -b apps/gateway", { cwd: root, stdio: "inherit" })
}

export const registry = twoModels("serve process", {
  openai: { rpm: 100_000, tpm: 100_000_000 },
  anthropic: { rpm: 100_000, tpm: 100_000_000 }
})

/** A temporary directory, removed with the scope. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
  )

export interface Served {
  readonly child: Child.ChildProcess
  readonly url: string
  readonly port: number
  readonly exited: Promise<{ code: number | null; signal: string | null }>
  readonly output: () => string
  readonly tail: () => string
}

/** Write `config/` under `dir` and start `serve` on it; killed (SIGKILL) with the scope when still running. */
export const serve = (options: {
  readonly dir: string
  readonly db: string
  readonly openaiUrl: string
  readonly anthropicUrl: string
  readonly gateway: object
  /** models.json (default: `registry`, the two-model one). */
  readonly models?: object
  /** More environment variables for the process (e.g. `MODELGATE_DATABASE_URL`). */
  readonly env?: Readonly<Record<string, string>>
}) =>
  Effect.gen(function* () {
    const config = path.join(options.dir, "config")
    fs.mkdirSync(config, { recursive: true })
    fs.writeFileSync(path.join(config, "gateway.json"), JSON.stringify(options.gateway))
    fs.writeFileSync(path.join(config, "models.json"), JSON.stringify(options.models ?? registry))
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        Child.spawn(process.execPath, [bin, "serve", "--port", "0", "--config", config], {
          cwd: options.dir,
          env: {
            PATH: process.env.PATH ?? "",
            HOME: options.dir,
            OPENAI_BASE_URL: options.openaiUrl,
            ANTHROPIC_BASE_URL: options.anthropicUrl,
            OPENAI_API_KEY: "sk-test-openai",
            ANTHROPIC_API_KEY: FakeAnthropic.defaultApiKey,
            MODELGATE_DB: options.db,
            ...options.env
          },
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      (c) => Effect.sync(() => void (c.exitCode === null && c.signalCode === null && c.kill("SIGKILL")))
    )
    let out = ""
    child.stdout!.on("data", (b: Buffer) => void (out += b.toString()))
    child.stderr!.on("data", (b: Buffer) => void (out += b.toString()))
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    )
    const tail = () => `; gateway output:\n${out.slice(-3_000)}`
    const url = yield* until(
      "modelgate serve start-up",
      Effect.sync(() => {
        const match = /modelgate listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
        if (match !== null) return match[1]!
        if (child.exitCode !== null || child.signalCode !== null) {
          return assert.fail(`modelgate serve exited (${child.exitCode ?? child.signalCode}) before listening${tail()}`)
        }
        return undefined
      }),
      tail
    )
    return { child, url, port: Number(new URL(url).port), exited, output: () => out, tail } satisfies Served
  })

/** Every row of every table of the SQLite file, as text (to search for what must not be stored). */
export const allRows = (db: string): string => {
  const conn = new Database(db, { readonly: true })
  try {
    const tables = conn.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>
    return tables.map((t) => `${t.name}: ${JSON.stringify(conn.prepare(`select * from "${t.name}"`).all())}`).join("\n")
  } finally {
    conn.close()
  }
}

/** Cost rows per request id in the database file. */
export const costRows = (db: string): Map<string, number> => {
  const conn = new Database(db, { readonly: true })
  try {
    const rows = conn.prepare("SELECT request_id AS id, COUNT(*) AS n FROM cost_records GROUP BY request_id").all() as Array<{
      id: string
      n: number
    }>
    return new Map(rows.map((r) => [r.id, r.n]))
  } finally {
    conn.close()
  }
}

export interface Outcome {
  readonly status: number
  readonly requestId: string | null
  readonly body: string
}

/** One chat request; status 0 when the connection was refused or closed without an answer. */
export const chat = (url: string, i: number, extra: object = {}): Promise<Outcome> =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `probe request ${i}` }], ...extra })
  }).then(
    async (response) => ({ status: response.status, requestId: response.headers.get("x-request-id"), body: await response.text() }),
    (error: unknown) => ({ status: 0, requestId: null, body: String(error) })
  )

/** The fake OpenAI and Anthropic servers, a temp directory and the database path in it, for one `serve` test. */
export const overFakes = (prefix: string) =>
  Effect.gen(function* () {
    const openai = yield* FakeOpenAi.make()
    const anthropic = yield* FakeAnthropic.make()
    const dir = yield* tempDir(prefix)
    return { openai, anthropic, dir, db: path.join(dir, "data", "modelgate.db") }
  })

/** gateway.json's providers, pointing at nothing (`serve` is given the fakes' URLs by environment), without retries. */
export const unreachableProviders = (timeoutMs?: number) => {
  const provider = { baseUrl: "http://127.0.0.1:9", maxRetries: 0, ...(timeoutMs === undefined ? {} : { timeoutMs }) }
  return { openai: provider, anthropic: provider }
}

/** `count` chats to `url` (numbered from `offset`, `temperature: 0`) over `workers` connections at once; every answer. */
export const chatLoad = (url: string, offset: number, count: number, workers: number) =>
  Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const out = []
      for (let i = w; i < count; i += workers) out.push(await chat(url, offset + i, { temperature: 0 }))
      return out
    })
  ).then((xs) => xs.flat())
