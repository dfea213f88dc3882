/**
 * What `modelgate serve` reads of the OpenTelemetry environment
 * (`cli/Tracing.ts`): which collector URL, protocol, headers, service name,
 * export delay and timeout; when tracing is off; and that a setting that cannot work
 * is an error naming the variable without quoting a value.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option, Redacted } from "effect"
import * as Tracing from "../src/cli/Tracing.js"

const read = (env: Record<string, string>) =>
  Effect.either(Effect.withConfigProvider(Tracing.settingsFromEnv, ConfigProvider.fromMap(new Map(Object.entries(env)))))

const settings = (env: Record<string, string>) =>
  Effect.map(read(env), (r) => {
    if (Either.isLeft(r)) return assert.fail(r.left.message)
    return Option.getOrUndefined(r.right)
  })

const failure = (env: Record<string, string>) =>
  Effect.map(read(env), (r) => (Either.isLeft(r) ? r.left.message : assert.fail("expected a ConfigError")))

describe("tracing settings from the environment", () => {
  it.effect("no collector named: no tracing", () =>
    Effect.gen(function* () {
      assert.isUndefined(yield* settings({}))
      assert.isUndefined(yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "  " }), "blank is unset")
      assert.isUndefined(yield* settings({ OTEL_SERVICE_NAME: "gw", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }))
    }))

  it.effect("the base endpoint gets /v1/traces; the traces endpoint is taken as given and wins", () =>
    Effect.gen(function* () {
      const base = yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })
      assert.strictEqual(base?.url, "http://collector:4318/v1/traces")
      assert.strictEqual(base?.protocol, "http/protobuf", "the OpenTelemetry default")
      assert.strictEqual(base?.serviceName, "modelgate")
      assert.strictEqual(base?.exportIntervalMs, 5_000)
      const both = yield* settings({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example.com/otlp/v1/traces"
      })
      assert.strictEqual(both?.url, "https://traces.example.com/otlp/v1/traces")
    }))

  it.effect("OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off", () =>
    Effect.gen(function* () {
      assert.isUndefined(yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "TRUE" }))
      assert.isUndefined(yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }))
      assert.isDefined(yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "otlp" }))
    }))

  it.effect("the service name: OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES", () =>
    Effect.gen(function* () {
      const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }
      const fromAttributes = yield* settings({ ...endpoint, OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod, service.name=edge-gw" })
      assert.strictEqual(fromAttributes?.serviceName, "edge-gw")
      const both = yield* settings({ ...endpoint, OTEL_RESOURCE_ATTRIBUTES: "service.name=edge-gw", OTEL_SERVICE_NAME: "named" })
      assert.strictEqual(both?.serviceName, "named")
    }))

  it.effect("headers: name=value pairs, values %-decoded, the traces ones winning, kept redacted", () =>
    Effect.gen(function* () {
      const s = yield* settings({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_HEADERS: "x-ignored=1",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: "X-Honeycomb-Team=abc%2C123, x-dataset = gateway%20traces"
      })
      assert.deepStrictEqual(s?.headers.map(([name, value]) => [name, Redacted.value(value)]), [
        ["x-honeycomb-team", "abc,123"],
        ["x-dataset", "gateway traces"]
      ])
      assert.notInclude(String(s?.headers[0]![1]), "abc", "a header value prints redacted")
    }))

  it.effect("a setting that cannot work names its variable, never a value", () =>
    Effect.gen(function* () {
      const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }
      const notUrl = yield* failure({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4318?token=hunter2" })
      assert.include(notUrl, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
      assert.notInclude(notUrl, "hunter2")
      const grpc = yield* failure({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" })
      assert.include(grpc, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
      assert.include(grpc, "http/json")
      const header = yield* failure({ ...endpoint, OTEL_EXPORTER_OTLP_HEADERS: "x-a=1,hunter2" })
      assert.include(header, "OTEL_EXPORTER_OTLP_HEADERS")
      assert.include(header, "entry 2")
      assert.notInclude(header, "hunter2")
      const escape = yield* failure({ ...endpoint, OTEL_EXPORTER_OTLP_HEADERS: "x-key=hunter2%zz" })
      assert.include(escape, "x-key")
      assert.notInclude(escape, "hunter2")
      const delay = yield* failure({ ...endpoint, OTEL_BSP_SCHEDULE_DELAY: "soon" })
      assert.include(delay, "OTEL_BSP_SCHEDULE_DELAY")
      const exporter = yield* failure({ ...endpoint, OTEL_TRACES_EXPORTER: "zipkin" })
      assert.include(exporter, "OTEL_TRACES_EXPORTER")
    }))

  it.effect("the export timeout: 10 s, else OTEL_EXPORTER_OTLP_TIMEOUT, the traces one winning", () =>
    Effect.gen(function* () {
      const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }
      assert.strictEqual((yield* settings(endpoint))?.exportTimeoutMs, 10_000, "OpenTelemetry's default")
      assert.strictEqual((yield* settings({ ...endpoint, OTEL_EXPORTER_OTLP_TIMEOUT: "30000" }))?.exportTimeoutMs, 30_000)
      const both = yield* settings({ ...endpoint, OTEL_EXPORTER_OTLP_TIMEOUT: "30000", OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "2500" })
      assert.strictEqual(both?.exportTimeoutMs, 2_500)
      const bad = yield* failure({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "10s" })
      assert.include(bad, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
    }))

  it.effect("the sampler: parent-based always-on by default; OpenTelemetry's samplers and ratio", () =>
    Effect.gen(function* () {
      const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }
      assert.deepStrictEqual((yield* settings(endpoint))?.sampling, { parentBased: true, ratio: 1 })
      assert.deepStrictEqual((yield* settings({ ...endpoint, OTEL_TRACES_SAMPLER: "always_off" }))?.sampling, { parentBased: false, ratio: 0 })
      assert.deepStrictEqual(
        (yield* settings({ ...endpoint, OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.05" }))?.sampling,
        { parentBased: true, ratio: 0.05 }
      )
      assert.deepStrictEqual((yield* settings({ ...endpoint, OTEL_TRACES_SAMPLER: "traceidratio" }))?.sampling, { parentBased: false, ratio: 1 })
      const unknown = yield* failure({ ...endpoint, OTEL_TRACES_SAMPLER: "jaeger_remote" })
      assert.include(unknown, "OTEL_TRACES_SAMPLER")
      assert.include(unknown, "parentbased_traceidratio")
      const ratio = yield* failure({ ...endpoint, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "5%" })
      assert.include(ratio, "OTEL_TRACES_SAMPLER_ARG")
    }))
})
