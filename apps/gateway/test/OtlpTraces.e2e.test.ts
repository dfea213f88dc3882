/**
 * Traces of the built `modelgate serve`, end to end: with the standard
 * OpenTelemetry variables naming a collector (here a stand-in on loopback),
 * each chat call is exported as a server span in the client's trace, named
 * and annotated as OpenTelemetry's GenAI conventions say (the model asked for
 * and the one that answered, the provider, tokens, finish reasons) with the
 * gateway's own figures (request id, cache, failovers, cost); a failed call
 * is an error span naming its code; the provider calls are spans under it;
 * no key (the providers' or the collector's) appears in any export, and the
 * trace context is not sent on to the providers; nothing but the calls is
 * traced. Spans still unsent at SIGTERM are exported before the process exits.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import * as Child from "node:child_process"
import { createHash } from "node:crypto"
import { settles } from "./support/HangDetector.js"
import * as Collector from "./support/OtlpCollector.js"
import { postOpening } from "./support/RawProviders.js"
import { bin, ensureBuilt, overFakes, serve, tempDir } from "./support/ServeProcess.js"

const traceId = "0af7651916cd43dd8448eb211c80319c"
const parentSpanId = "b7ad6b7169203331"
const collectorKey = "collector-secret,with comma"

const gateway = { healthCheck: { enabled: false }, cache: { enabled: false }, providers: { openai: { maxRetries: 0 } } }

const chat = (url: string, body: object, headers: Record<string, string> = {}) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "trace me" }], ...body })
    }).then(async (r) => ({ status: r.status, requestId: r.headers.get("x-request-id"), text: await r.text() }))
  )

/** `modelgate serve` over the fake providers with `env`. */
const serveTraced = (prefix: string, env: Record<string, string>) =>
  Effect.gen(function* () {
    const fakes = yield* overFakes(prefix)
    const served = yield* serve({
      dir: fakes.dir,
      db: fakes.db,
      openaiUrl: fakes.openai.baseUrl,
      anthropicUrl: fakes.anthropic.baseUrl,
      gateway,
      env
    })
    return { fakes, served }
  })

/** SIGTERM, then the exit (the exporter sends what is left before it). */
const stop = (child: Child.ChildProcess, exited: Promise<{ code: number | null }>) =>
  Effect.flatMap(Effect.sync(() => child.kill("SIGTERM")), () => settles("modelgate serve exit after SIGTERM", () => exited))

describe("modelgate serve with an OTLP collector", () => {
  beforeAll(() => ensureBuilt())

  it.scopedLive("exports each chat call as a GenAI server span in the client's trace, with the provider calls under it", () =>
    Effect.gen(function* () {
      const collector = yield* Collector.start
      const { fakes, served } = yield* serveTraced("modelgate-otlp-", {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_HEADERS: `x-collector-key=${encodeURIComponent(collectorKey)}`,
        OTEL_SERVICE_NAME: "gateway-under-test"
      })
      const complete = yield* chat(served.url, { max_tokens: 50 }, { traceparent: `00-${traceId}-${parentSpanId}-01` })
      assert.strictEqual(complete.status, 200, complete.text)
      const streamed = yield* chat(served.url, { stream: true, stream_options: { include_usage: true } })
      assert.strictEqual(streamed.status, 200, streamed.text)
      assert.include(streamed.text, "data: [DONE]")
      const unknown = yield* chat(served.url, { model: "no-such-model" })
      assert.strictEqual(unknown.status, 404, unknown.text)
      // The client's trace is sampled out (flags 00): under the default parent-based sampler, no span.
      const sampledOut = yield* chat(served.url, {}, { traceparent: `00-${"1".repeat(32)}-${"2".repeat(16)}-00` })
      assert.strictEqual(sampledOut.status, 200, sampledOut.text)
      // A stream cut after its third event, once the client has its first text (in the same read as it,
      // the gateway would fail over instead): the client gets an error event, no [DONE].
      const later = yield* Effect.makeLatch(false)
      yield* fakes.openai.script(Fault.cut(3, later))
      const opened = yield* postOpening(
        served.url,
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "please stream a longer answer to me" }] },
        "data:",
        () => Effect.runSync(later.open)
      )
      const cut = { status: opened.status, requestId: opened.headers.get("x-request-id"), text: opened.text }
      assert.strictEqual(cut.status, 200, cut.text)
      assert.include(cut.text, `data: {"error"`)
      assert.isFalse(cut.text.split("\n").some((line) => line.trim() === "data: [DONE]"), cut.text)
      // A failover: OpenAI answers 503, the fallback Claude answers.
      yield* fakes.openai.script(Fault.status(503))
      const failedOver = yield* chat(served.url, {})
      assert.strictEqual(failedOver.status, 200, failedOver.text)
      const exit = yield* stop(served.child, served.exited)
      assert.strictEqual(exit.code, 0, served.tail())
      assert.include(served.output(), `traces: OTLP http/json to ${collector.url}/v1/traces as gateway-under-test`)
      assert.notInclude(served.output(), "traces could not be exported", "no warning while the collector answers")

      assert.isAbove(collector.exports.length, 0, `nothing exported${served.tail()}`)
      for (const e of collector.exports) {
        assert.strictEqual(e.path, "/v1/traces")
        assert.strictEqual(e.headers["content-type"], "application/json")
        assert.strictEqual(e.headers["x-collector-key"], collectorKey, "the collector's header, decoded")
      }
      const everything = collector.exports.map((e) => e.body.toString("utf8")).join("\n")
      for (const secret of ["sk-test-openai", FakeAnthropic.defaultApiKey, "collector-secret"]) {
        assert.notInclude(everything, secret, "no key in any exported span")
      }
      const spans = Collector.spansOf(collector.exports)
      const resource = Collector.attributesOf(spans[0]!.resource)
      assert.strictEqual(resource["service.name"], "gateway-under-test")
      assert.strictEqual(resource["service.version"], "0.1.0")

      // Server spans (kind 2), one per traced call.
      const calls = spans.map((s) => s.span).filter((s) => s.name === "chat gpt-4o-mini" && s.kind === 2)
        .map((s) => ({ span: s, attributes: Collector.attributesOf(s.attributes) }))
      assert.strictEqual(calls.length, 4, spans.map((s) => s.span.name).join(", "))
      const byRequest = (id: string | null) => calls.find((s) => s.attributes["modelgate.request_id"] === id)!
      const completeSpan = byRequest(complete.requestId)
      const streamSpan = byRequest(streamed.requestId)
      assert.strictEqual(streamSpan.attributes["modelgate.stream"], true)

      // The complete call: in the client's trace, under its span, a server span (kind 2), not an error.
      assert.strictEqual(completeSpan.span.traceId, traceId)
      assert.strictEqual(completeSpan.span.parentSpanId, parentSpanId)
      assert.strictEqual(completeSpan.span.kind, 2)
      assert.notStrictEqual(completeSpan.span.status.code, 2)
      const a = completeSpan.attributes
      assert.strictEqual(a["gen_ai.operation.name"], "chat")
      assert.strictEqual(a["gen_ai.request.model"], "gpt-4o-mini")
      assert.strictEqual(a["gen_ai.request.max_tokens"], 50)
      assert.strictEqual(a["gen_ai.response.model"], "gpt-4o-mini")
      assert.strictEqual(a["gen_ai.provider.name"], "openai")
      assert.deepStrictEqual(a["gen_ai.response.finish_reasons"], ["stop"])
      assert.isAbove(a["gen_ai.usage.input_tokens"] as number, 0)
      assert.isAbove(a["gen_ai.usage.output_tokens"] as number, 0)
      assert.isAbove(a["modelgate.cost_usd"] as number, 0)
      assert.strictEqual(a["modelgate.request_id"], complete.requestId)
      assert.strictEqual(a["gen_ai.response.id"], `chatcmpl-${complete.requestId}`)
      assert.strictEqual(a["modelgate.cache"], "miss")
      assert.strictEqual(a["modelgate.failovers"], 0)
      assert.strictEqual(a["http.response.status_code"], 200)

      // Under it: the gateway's span, and the provider's HTTP call (to the fake, its key redacted).
      const inTrace = spans.map((s) => s.span).filter((s) => s.traceId === traceId && s !== completeSpan.span)
      const core = inTrace.find((s) => s.name === "Gateway.complete")
      assert.isDefined(core, inTrace.map((s) => s.name).join(", "))
      assert.strictEqual(core!.parentSpanId, completeSpan.span.spanId)
      const attempt = inTrace.find((s) => s.kind === 3 && s.name === "chat gpt-4o-mini")
      assert.isDefined(attempt, "the attempt's GenAI client span")
      assert.deepInclude(Collector.attributesOf(attempt!.attributes), {
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "modelgate.model": "gpt-4o-mini",
        "modelgate.attempt": 1,
        "modelgate.key": "openai#0",
        // Its fingerprint, as cost records name the key (never the key).
        "modelgate.key_fingerprint": `openai~${createHash("sha256").update("sk-test-openai").digest("hex").slice(0, 16)}`
      })
      const upstream = inTrace.find((s) => Collector.attributesOf(s.attributes)["url.full"] === `${fakes.openai.baseUrl}/chat/completions`)
      assert.isDefined(upstream, JSON.stringify(inTrace.map((s) => [s.name, Collector.attributesOf(s.attributes)["url.full"]])))
      const call = Collector.attributesOf(upstream!.attributes)
      assert.strictEqual(call["http.response.status_code"], 200)
      assert.deepStrictEqual(Object.keys(call).filter((k) => k.startsWith("http.request.header.")), [], "no request header recorded")

      // The stream: its own trace, its usage and cost settled at its end.
      assert.notStrictEqual(streamSpan.span.traceId, traceId)
      assert.notStrictEqual(streamSpan.span.status.code, 2)
      const s = streamSpan.attributes
      assert.strictEqual(s["gen_ai.response.model"], "gpt-4o-mini")
      assert.strictEqual(s["modelgate.request_id"], streamed.requestId)
      assert.isAbove(s["gen_ai.usage.output_tokens"] as number, 0)
      assert.isAbove(s["modelgate.cost_usd"] as number, 0)

      // The unknown model: an error span with its code and status.
      const refused = spans.map((x) => x.span).find((x) => x.name === "chat no-such-model")
      assert.isDefined(refused)
      assert.strictEqual(refused!.status.code, 2)
      const r = Collector.attributesOf(refused!.attributes)
      assert.strictEqual(r["http.response.status_code"], 404)
      assert.strictEqual(r["error.type"], "model_not_found")

      // The cut stream: an error span naming the error event's code, its status the 200 it was sent with.
      const broken = byRequest(cut.requestId)
      assert.strictEqual(broken.span.status.code, 2)
      assert.strictEqual(broken.attributes["http.response.status_code"], 200)
      assert.isString(broken.attributes["error.type"])
      assert.include(cut.text, `"code":"${String(broken.attributes["error.type"])}"`)
      // Its warning in the log carries its trace, so the log line leads to the trace.
      // Each log entry: a line with its time and message, then its annotations as indented `key: value` lines.
      const entries = served.output().split(/\n(?=\[\d\d:\d\d)/)
      const warning = entries.find((entry) => entry.includes("stream failed after it started") && entry.includes(`requestId: ${cut.requestId}`))
      assert.isDefined(warning, served.tail())
      assert.include(warning, `trace_id: ${broken.span.traceId}`)
      assert.include(warning, `span_id: ${broken.span.spanId}`)

      // The failover: one attempt span per model tried, the first an error; the call answered by the fallback.
      const failover = byRequest(failedOver.requestId)
      assert.strictEqual(failover.attributes["modelgate.failovers"], 1)
      assert.strictEqual(failover.attributes["gen_ai.response.model"], "claude-haiku")
      assert.strictEqual(failover.attributes["gen_ai.provider.name"], "anthropic")
      const tried = spans.map((x) => x.span).filter((x) => x.traceId === failover.span.traceId && x.kind === 3 && x.name.startsWith("chat "))
        .map((x) => ({ name: x.name, failed: x.status.code === 2, attempt: Collector.attributesOf(x.attributes)["modelgate.attempt"] }))
        .sort((a, b) => Number(a.attempt) - Number(b.attempt))
      assert.deepStrictEqual(tried, [
        { name: "chat gpt-4o-mini", failed: true, attempt: 1 },
        { name: "chat claude-haiku-4-5", failed: false, attempt: 2 }
      ])

      // Only the calls are traced: no span of start-up, migrations, record writes or other background work.
      const callTraces = new Set([...calls.map((c) => c.span.traceId), refused!.traceId])
      const outside = spans.map((x) => x.span).filter((x) => !callTraces.has(x.traceId))
      assert.deepStrictEqual(outside.map((x) => x.name), [], "every span is part of a chat call's trace")
      assert.notInclude(everything, "1".repeat(32), "nothing of the sampled-out call")
      assert.notInclude(everything, sampledOut.requestId!)

      // The providers never see the trace context.
      for (const request of yield* fakes.openai.requests) {
        assert.isUndefined(request.headers["traceparent"], "no traceparent sent to the provider")
        assert.isUndefined(request.headers["b3"], "no b3 sent to the provider")
      }
    }), 60_000)

  it.scopedLive("a failed call's span names what it did: the last model tried, its provider, the failovers and the cost", () =>
    Effect.gen(function* () {
      const collector = yield* Collector.start
      const { fakes, served } = yield* serveTraced("modelgate-otlp-failed-", {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json"
      })
      // Every model refuses: OpenAI, then the fallback Claude, answer 503.
      yield* fakes.openai.persist(Fault.status(503))
      yield* fakes.anthropic.persist(Fault.status(503))
      const failed = yield* chat(served.url, {})
      assert.strictEqual(failed.status, 502, failed.text)
      const exit = yield* stop(served.child, served.exited)
      assert.strictEqual(exit.code, 0, served.tail())
      const span = Collector.spansOf(collector.exports).map((s) => s.span)
        .find((s) => s.kind === 2 && Collector.attributesOf(s.attributes)["modelgate.request_id"] === failed.requestId)
      assert.isDefined(span, served.tail())
      assert.strictEqual(span!.status.code, 2)
      // As the error answer's `x-modelgate-*` headers say it.
      assert.deepInclude(Collector.attributesOf(span!.attributes), {
        "http.response.status_code": 502,
        "modelgate.model": "claude-haiku",
        "gen_ai.provider.name": "anthropic",
        "modelgate.provider": "anthropic",
        "modelgate.failovers": 1,
        "modelgate.cost_usd": 0
      })
    }), 60_000)

  it.scopedLive("exports OTLP protobuf by default", () =>
    Effect.gen(function* () {
      const collector = yield* Collector.start
      const { served } = yield* serveTraced("modelgate-otlp-pb-", { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/custom/traces` })
      const complete = yield* chat(served.url, {})
      assert.strictEqual(complete.status, 200, complete.text)
      const exit = yield* stop(served.child, served.exited)
      assert.strictEqual(exit.code, 0, served.tail())
      assert.isAbove(collector.exports.length, 0, `nothing exported${served.tail()}`)
      const [first] = collector.exports
      assert.strictEqual(first!.path, "/custom/traces", "the traces endpoint is taken as given")
      assert.strictEqual(first!.headers["content-type"], "application/x-protobuf")
      const bytes = Buffer.concat(collector.exports.map((e) => e.body)).toString("latin1")
      assert.include(bytes, "chat gpt-4o-mini")
      assert.include(bytes, "modelgate")
      assert.notInclude(bytes, "sk-test-openai")
    }), 60_000)

  it.scopedLive("a collector that is down costs no request, does not hold up the exit, and is told once", () =>
    Effect.gen(function* () {
      // A port nothing listens on: the collector's connection is refused.
      const down = yield* Collector.start
      const url = down.url
      yield* Effect.async<void>((resume) => void down.server.close(() => resume(Effect.void)))
      const { served } = yield* serveTraced("modelgate-otlp-down-", { OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_BSP_SCHEDULE_DELAY: "50" })
      for (let i = 0; i < 5; i++) {
        const answer = yield* chat(served.url, { messages: [{ role: "user", content: `still served ${i}` }] })
        assert.strictEqual(answer.status, 200, answer.text)
      }
      const streamed = yield* chat(served.url, { stream: true })
      assert.strictEqual(streamed.status, 200, streamed.text)
      assert.include(streamed.text, "data: [DONE]")
      const exit = yield* stop(served.child, served.exited)
      assert.strictEqual(exit.code, 0, served.tail())
      const warnings = served.output().split("\n").filter((line) => line.includes("traces could not be exported"))
      assert.strictEqual(warnings.length, 1, `one warning for the run of failures${served.tail()}`)
      assert.include(warnings[0], `${url}/v1/traces`)
      assert.include(warnings[0], "ECONNREFUSED")
    }), 60_000)

  it.scoped("a setting that cannot work stops serve at start, naming the variable without its value", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("modelgate-otlp-bad-")
      const run = (env: Record<string, string>) =>
        settles("modelgate serve with a bad OTEL setting", () =>
          new Promise<{ code: number | null; output: string }>((resolve) => {
            const child = Child.spawn(process.execPath, [bin, "serve", "--port", "0"], {
              cwd: dir,
              env: { PATH: process.env.PATH ?? "", HOME: dir, MODELGATE_DB: `${dir}/data/modelgate.db`, ...env },
              stdio: ["ignore", "pipe", "pipe"]
            })
            let output = ""
            child.stdout.on("data", (b: Buffer) => void (output += b.toString()))
            child.stderr.on("data", (b: Buffer) => void (output += b.toString()))
            child.once("close", (code) => resolve({ code, output }))
          }))
      const grpc = yield* run({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })
      assert.strictEqual(grpc.code, 1, grpc.output)
      assert.include(grpc.output, "OTEL_EXPORTER_OTLP_PROTOCOL")
      assert.include(grpc.output, "http/protobuf")
      assert.notInclude(grpc.output, "listening")
      const url = yield* run({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://user:hunter2@collector:4318" })
      assert.strictEqual(url.code, 1, url.output)
      assert.include(url.output, "OTEL_EXPORTER_OTLP_ENDPOINT")
      assert.notInclude(url.output, "hunter2")
    }), 60_000)
})
