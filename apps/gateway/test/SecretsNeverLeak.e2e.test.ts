/**
 * No secret leaves the built `modelgate serve`. Every provider key, the
 * master key and a virtual key get distinctive values, the provider keys
 * shaped like none of the shipped providers' (as an OpenAI-compatible
 * endpoint's may be), so only the gateway's knowledge of the value can hide
 * it. The providers answer with errors that quote the key whole (429, 400,
 * 500, a 401 / 403 that sets the key aside, Gemini naming a `?key=` URL,
 * mid-stream error events, a broken body, an HTML page), the gateway fails
 * over, clients send a provider's key as their bearer, and everything the
 * gateway answers is read (`/ready`, `/metrics`, `/v1/*`, the `/admin/*`
 * reads, `/v1/events` throughout). None of the values is then in an answer,
 * an event, a log line (debug), an OTLP span, a SQLite row, nor in what
 * `config validate` and `models` print; and each provider was sent its own
 * key only.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import * as Child from "node:child_process"
import { createHash } from "node:crypto"
import * as path from "node:path"
import { registry } from "./support/FourProviderStack.js"
import { settles } from "./support/HangDetector.js"
import * as Collector from "./support/OtlpCollector.js"
import { allRows, bin, ensureBuilt, serve, tempDir } from "./support/ServeProcess.js"

/** Each secret, with a middle part no other text holds (a partial echo is a leak too). */
const secrets = {
  openai: "gsk_Kq7rCanaryOpenAiFirst9Xw2",
  anthropic: "ant_Hv5nCanaryAnthropic6Qe1",
  google: "gem_CanaryGemini0Jd4Fb7Rk2Tm9Wy5Uc",
  master: "mg-master-Rb3sCanaryMaster8Ny6",
  virtual: "mg-team-Pw2kCanaryVirtual5Hj9"
} as const
const marks = Object.values(secrets).flatMap((s) => [s, s.slice(4, 20)])

const gateway = {
  healthCheck: { enabled: true, intervalMs: 60_000, failureThreshold: 1_000 },
  cache: { enabled: false },
  records: { flushIntervalMs: 20 },
  failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 },
  providers: {
    openai: { maxRetries: 0 },
    anthropic: { maxRetries: 0 },
    google: { maxRetries: 0 },
    ollama: { maxRetries: 0 }
  },
  auth: { virtualKeys: [{ name: "team-a", agentType: "team-a", sha256: createHash("sha256").update(secrets.virtual).digest("hex") }] }
}

const env = (urls: { readonly google: string; readonly ollama: string; readonly collector: string }) => ({
  OPENAI_API_KEY: secrets.openai,
  ANTHROPIC_API_KEY: secrets.anthropic,
  GEMINI_API_KEY: secrets.google,
  GEMINI_BASE_URL: urls.google,
  OLLAMA_HOST: urls.ollama,
  MODELGATE_MASTER_KEY: secrets.master,
  MODELGATE_LOG_LEVEL: "debug",
  OTEL_EXPORTER_OTLP_ENDPOINT: urls.collector,
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  OTEL_BSP_SCHEDULE_DELAY: "50"
})

interface Answer {
  readonly what: string
  readonly status: number
  readonly text: string
}

const ask = (url: string, what: string, route: string, init: { readonly method?: string; readonly body?: unknown; readonly key?: string } = {}) =>
  Effect.promise(() =>
    fetch(`${url}${route}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: {
        "content-type": "application/json",
        ...(init.key === undefined ? {} : { authorization: `Bearer ${init.key}` })
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
    }).then(async (r): Promise<Answer> => ({ what, status: r.status, text: `${JSON.stringify([...r.headers])}\n${await r.text()}` }))
  )

const chat = (url: string, what: string, modelId: string, key: string = secrets.master, stream = false) =>
  ask(url, what, "/v1/chat/completions", {
    key,
    body: { model: modelId, stream, messages: [{ role: "user", content: `secrets probe: ${what}` }] }
  })

/** Each place where one of the secrets (or its middle) was found. */
const leaks = (seen: Record<string, string>) =>
  Object.entries(seen).flatMap(([where, text]) =>
    marks.filter((m) => text.includes(m)).map((m) => {
      const at = text.indexOf(m)
      return `${where}: …${text.slice(Math.max(0, at - 160), at + m.length + 40)}…`
    })
  )

/** `modelgate ...args` on `config` with the secrets in its environment: its exit code and output. */
const cli = (dir: string, extra: Record<string, string>, ...args: ReadonlyArray<string>) =>
  settles(`modelgate ${args.join(" ")}`, () =>
    new Promise<string>((resolve) => {
      Child.execFile(
        process.execPath,
        [bin, ...args],
        { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: dir, MODELGATE_DB: path.join(dir, "cli.db"), ...extra } },
        (error, stdout, stderr) => resolve(`exit ${error?.code ?? 0}\n${stdout}\n${stderr}`)
      )
    }))

describe("secrets never leave the gateway", () => {
  beforeAll(() => ensureBuilt(), 120_000)

  it.scopedLive("not in answers, events, logs, spans, rows or the CLI's output, whatever the providers echo", () =>
    Effect.gen(function* () {
      const openai = yield* FakeOpenAi.make({ apiKeys: [secrets.openai] })
      const anthropic = yield* FakeAnthropic.make({ apiKey: secrets.anthropic })
      const google = yield* FakeGoogle.make({ apiKey: secrets.google })
      const ollama = yield* FakeOllama.make()
      const collector = yield* Collector.start
      const dir = yield* tempDir("modelgate-secrets-")
      const db = path.join(dir, "data", "modelgate.db")
      const environment = env({ google: google.baseUrl, ollama: ollama.url, collector: collector.url })
      const served = yield* serve({ dir, db, openaiUrl: openai.baseUrl, anthropicUrl: anthropic.baseUrl, gateway, models: registry, env: environment })
      const { url } = served

      // The event stream, read throughout.
      const events = new AbortController()
      let eventText = ""
      const reading = fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${secrets.master}` }, signal: events.signal })
        .then(async (r) => {
          for await (const part of r.body!) eventText += Buffer.from(part).toString("utf8")
        })
        .catch(() => undefined)

      const answers: Array<Answer> = []
      const keep = (a: Answer) => Effect.sync(() => void answers.push(a))
      yield* Effect.forEach(
        [
          chat(url, "openai ok", "gpt"),
          chat(url, "claude ok", "claude"),
          chat(url, "gemini ok", "gemini"),
          chat(url, "llama ok", "llama"),
          chat(url, "virtual key ok", "gpt", secrets.virtual),
          chat(url, "stream ok", "claude", secrets.master, true)
        ],
        (a) => Effect.flatMap(a, keep)
      )

      const echo = (key: string) => `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`
      const googleUrl = (key: string) => `https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent?key=${key}`
      const scripted: ReadonlyArray<readonly [string, Effect.Effect<void>, Effect.Effect<Answer>]> = [
        ["openai 429 echoing the key", openai.script(Fault.status(429, { message: `limit for ${secrets.openai}` })), chat(url, "openai 429", "gpt")],
        ["openai 400 echoing the key", openai.script(Fault.status(400, { message: `bad request with key ${secrets.openai}` })), chat(url, "openai 400", "gpt")],
        ["openai html page", openai.script({ _tag: "Body", status: 502, body: `<html>key ${secrets.openai} refused</html>`, contentType: "text/html" }), chat(url, "openai html", "gpt")],
        ["openai malformed", openai.script(Fault.malformedJson(`{"key": "${secrets.openai}", "choices": [`)), chat(url, "openai malformed", "gpt")],
        [
          "openai stream error",
          openai.script(Fault.inject(1, `data: {"error":{"message":"${echo(secrets.openai)}","type":"server_error"}}\n\n`)),
          chat(url, "openai stream error", "gpt", secrets.master, true)
        ],
        ["openai 401 echoing the key", openai.script(Fault.status(401, { message: echo(secrets.openai) })), chat(url, "openai 401", "gpt")],
        ["anthropic 500 echoing the key", anthropic.script(Fault.status(500, { message: `internal: x-api-key=${secrets.anthropic}` })), chat(url, "anthropic 500", "claude")],
        ["anthropic 400 echoing the key", anthropic.script(Fault.status(400, { message: `invalid request for key ${secrets.anthropic}` })), chat(url, "anthropic 400", "claude")],
        [
          "anthropic stream error",
          anthropic.script(Fault.inject(1, FakeAnthropic.errorEvent("overloaded_error", `overloaded for key ${secrets.anthropic}`))),
          chat(url, "anthropic stream error", "claude", secrets.master, true)
        ],
        ["anthropic 403 echoing the key", anthropic.script(Fault.status(403, { message: `key ${secrets.anthropic} may not use this model` })), chat(url, "anthropic 403", "claude")],
        ["gemini 400 naming the ?key= URL", google.script(Fault.status(400, { message: `Invalid request to ${googleUrl(secrets.google)}` })), chat(url, "gemini 400", "gemini")],
        ["gemini 500 naming the ?key= URL", google.script(Fault.status(500, { message: `Internal error calling ${googleUrl(secrets.google)}` })), chat(url, "gemini 500", "gemini")],
        ["gemini reset", google.script(Fault.reset()), chat(url, "gemini reset", "gemini")],
        ["gemini stream", Effect.void, chat(url, "gemini stream", "gemini", secrets.master, true)],
        [
          "gemini stream error",
          google.script(Fault.inject(1, FakeGoogle.errorEvent(500, `internal error calling ${googleUrl(secrets.google)}`))),
          chat(url, "gemini stream error", "gemini", secrets.master, true)
        ],
        ["gemini 403 echoing the key", google.script(Fault.status(403, { message: `API key ${secrets.google} is suspended` })), chat(url, "gemini 403", "gemini")]
      ]
      for (const [, arrange, act] of scripted) yield* Effect.flatMap(Effect.zipRight(arrange, act), keep)

      // Clients that send what is not theirs to send.
      yield* Effect.forEach(
        [
          chat(url, "bearer: an openai key", "gpt", secrets.openai),
          chat(url, "bearer: master with a typo", "gpt", `${secrets.master}x`),
          ask(url, "admin with the virtual key", "/admin/models", { key: secrets.virtual }),
          ask(url, "admin with a provider key", "/admin/health", { key: secrets.google })
        ],
        (a) => Effect.flatMap(a, keep)
      )
      // Let the probes meet the keys set aside, then read everything the gateway answers.
      yield* Effect.sleep("1500 millis")
      yield* Effect.forEach(
        [
          ask(url, "/health", "/health"),
          ask(url, "/ready", "/ready"),
          ask(url, "/metrics", "/metrics"),
          ask(url, "/v1/models", "/v1/models", { key: secrets.master }),
          ask(url, "/v1/metrics", "/v1/metrics", { key: secrets.master }),
          ask(url, "/v1/metrics (team)", "/v1/metrics", { key: secrets.virtual }),
          ask(url, "/admin/models", "/admin/models", { key: secrets.master }),
          ask(url, "/admin/health", "/admin/health", { key: secrets.master }),
          ask(url, "/admin/keys", "/admin/keys", { key: secrets.master }),
          ask(url, "/admin/costs", "/admin/costs", { key: secrets.master }),
          ask(url, "/admin/budgets", "/admin/budgets", { key: secrets.master }),
          ask(url, "/admin/select", "/admin/select", { key: secrets.master, body: { model: "auto", messages: [{ role: "user", content: "hi" }] } }),
          ask(url, "/admin/reload", "/admin/reload", { key: secrets.master, method: "POST" })
        ],
        (a) => Effect.flatMap(a, keep)
      )
      yield* Effect.sleep("300 millis")
      events.abort()
      yield* Effect.promise(() => reading)
      served.child.kill("SIGTERM")
      yield* settles("modelgate serve exit", () => served.exited, served.tail)

      const config = path.join(dir, "config")
      const validate = yield* cli(dir, environment, "config", "validate", config)
      const listed = yield* cli(dir, environment, "models", "--config", config)

      // The scenarios did happen: the keys were refused and set aside, the events and spans were written.
      assert.include(answers.map((a) => `${a.what} ${a.status}`).join("\n"), "openai ok 200")
      assert.include(eventText, "Failover", "the event stream saw the failovers")
      assert.isAbove(collector.exports.length, 0, "spans were exported")
      assert.match(validate, /^exit 0/, validate)
      const found = leaks({
        ...Object.fromEntries(answers.map((a) => [`answer to ${a.what} (${a.status})`, a.text])),
        events: eventText,
        logs: served.output(),
        spans: collector.exports.map((e) => e.body.toString("utf8")).join("\n"),
        rows: allRows(db),
        "config validate": validate,
        models: listed
      })
      assert.deepStrictEqual(found, [])
      for (const what of ["openai 400", "anthropic 400", "gemini 400"]) {
        const answer = answers.find((a) => a.what === what)!
        assert.strictEqual(answer.status, 400, `${what}: the provider's words reached the client`)
        assert.include(answer.text, "[redacted]", what)
      }

      // What each provider was sent: its own key only, never the gateway's keys nor another provider's.
      const sent = (requests: ReadonlyArray<{ readonly headers: Record<string, string>; readonly body: string; readonly path: string }>) =>
        requests.map((r) => `${r.path} ${JSON.stringify(r.headers)} ${r.body}`).join("\n")
      const received = {
        openai: sent(yield* openai.requests),
        anthropic: sent(yield* anthropic.requests),
        google: sent(yield* google.requests),
        ollama: sent(yield* ollama.requests)
      }
      const strangers = Object.entries(received).flatMap(([provider, text]) =>
        Object.entries(secrets).filter(([owner, value]) => owner !== provider && text.includes(value)).map(([owner]) => `${provider} was sent the ${owner} key`)
      )
      assert.deepStrictEqual(strangers, [])
      assert.include(received.google, secrets.google, "the providers' requests were read")
    }), { timeout: 90_000 })
})
