/**
 * Traces of `modelgate serve`, exported over OTLP/HTTP when the standard
 * OpenTelemetry environment names a collector:
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the whole URL) or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (its base; `/v1/traces` is added), with
 * `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` (`http/protobuf`, the default, or
 * `http/json`), `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS` (`name=value,...`, e.g. a
 * vendor's key: read as `Redacted`, and redacted in the exporter's own
 * logs), `OTEL_SERVICE_NAME` (else `service.name` of
 * `OTEL_RESOURCE_ATTRIBUTES`, else `modelgate`) and `OTEL_BSP_SCHEDULE_DELAY`
 * (ms between exports, 5000), `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT` (ms an
 * export waits for the collector, 10000), `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`
 * (which calls: `parentbased_always_on`, the default, `always_on`,
 * `always_off`, `traceidratio`, `parentbased_always_off`,
 * `parentbased_traceidratio`, with the ratio as the argument; a call whose
 * client sent a trace context follows its sampled flag under a `parentbased_`
 * one). `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none` turns it off. The exporter is
 * `@effect/opentelemetry`'s `OtlpTracer` (no OpenTelemetry SDK in the
 * process); spans still unsent at shutdown are sent before exit (3 s at most).
 *
 * Without a collector the tracer is off, as before: spans would only cost
 * (~0.35 ms of CPU a traced call). With one, each sampled chat call is a
 * server span (`http/ChatSpan.ts`) with the gateway's `Gateway.complete` /
 * `Gateway.stream` span, its attempts and their provider HTTP calls under
 * it; nothing else is traced. The trace context is not passed on to the
 * providers (no `traceparent` to OpenAI). A collector that fails, or does
 * not answer within the timeout, loses the spans of the next minute (the
 * exporter pauses), never a request, and holds at most four exports; it is
 * logged once, and so is its recovery (`TraceExportWatch.ts`).
 *
 * A setting that cannot work is a `ConfigError` naming the variable, never
 * quoting its value (a URL or a header may hold a credential).
 */
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import { Headers, HttpClient } from "@effect/platform"
import { ConfigError } from "@modelgate/domain/Errors"
import * as ChatSpan from "../http/ChatSpan.js"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import * as TraceExportWatch from "./TraceExportWatch.js"
import { version } from "./Version.js"

/** Where and how traces go. */
export interface TracingSettings {
  readonly url: string
  readonly protocol: "http/protobuf" | "http/json"
  /** Header names (lower case) and their values, redacted. */
  readonly headers: ReadonlyArray<readonly [string, Redacted.Redacted<string>]>
  readonly serviceName: string
  readonly exportIntervalMs: number
  /** How long one export waits for the collector's answer before its spans are dropped. */
  readonly exportTimeoutMs: number
  readonly sampling: ChatSpan.Sampling
}

const invalid = (variable: string, reason: string) => new ConfigError({ file: `environment variable ${variable}`, path: "", reason })

/** A variable's value, trimmed; blank reads as unset. */
const variable = (name: string): Effect.Effect<Option.Option<string>, ConfigError> =>
  Config.option(Config.string(name)).pipe(
    Effect.mapError(() => invalid(name, "could not be read")),
    Effect.map(Option.flatMap((value) => (value.trim() === "" ? Option.none() : Option.some(value.trim()))))
  )

/** A secret variable's value (as `variable`), redacted from the moment it is read. */
const secretVariable = (name: string): Effect.Effect<Option.Option<{ readonly name: string; readonly value: Redacted.Redacted<string> }>, ConfigError> =>
  Config.option(Config.redacted(name)).pipe(
    Effect.mapError(() => invalid(name, "could not be read")),
    Effect.map(Option.flatMap((value) => (Redacted.value(value).trim() === "" ? Option.none() : Option.some({ name, value }))))
  )

/** The first of `names` that is set, with its name. */
const firstOf = (names: ReadonlyArray<string>) =>
  Effect.map(Effect.forEach(names, (name) => Effect.map(variable(name), Option.map((value) => ({ name, value })))), Option.firstSomeOf)

/** The traces URL: the traces endpoint as given, or the base endpoint with `/v1/traces`; none when neither is set. */
const endpoint = Effect.flatMap(
  firstOf(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"]),
  (found): Effect.Effect<Option.Option<string>, ConfigError> => {
    if (Option.isNone(found)) return Effect.succeed(Option.none())
    const { name, value } = found.value
    const url = name === "OTEL_EXPORTER_OTLP_ENDPOINT" ? `${value.replace(/\/+$/, "")}/v1/traces` : value
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
      return Effect.fail(invalid(name, "expected an http:// or https:// URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318 (value not shown)"))
    }
    return Effect.succeed(Option.some(url))
  }
)

const protocol = Effect.flatMap(
  firstOf(["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]),
  (found): Effect.Effect<TracingSettings["protocol"], ConfigError> => {
    if (Option.isNone(found)) return Effect.succeed("http/protobuf")
    const { name, value } = found.value
    if (value === "http/protobuf" || value === "http/json") return Effect.succeed(value)
    return Effect.fail(invalid(name, `"${value}" is not supported: use http/protobuf (the default) or http/json, on the collector's OTLP/HTTP port (4318)`))
  }
)

/**
 * `name=value` pairs separated by commas, values percent-decoded (the
 * OpenTelemetry format). A malformed pair is named by its position, not
 * quoted.
 */
export const parseHeaders = (
  name: string,
  text: Redacted.Redacted<string>
): Effect.Effect<ReadonlyArray<readonly [string, Redacted.Redacted<string>]>, ConfigError> =>
  Effect.suspend(() => {
    const out: Array<readonly [string, Redacted.Redacted<string>]> = []
    const pairs = Redacted.value(text).split(",")
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]!.trim()
      if (pair === "") continue
      const at = pair.indexOf("=")
      const key = at < 0 ? "" : pair.slice(0, at).trim().toLowerCase()
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(key)) {
        return Effect.fail(invalid(name, `entry ${i + 1} is not name=value with a header name (values not shown)`))
      }
      let value: string
      try {
        value = decodeURIComponent(pair.slice(at + 1).trim())
      } catch {
        return Effect.fail(invalid(name, `entry ${i + 1} (${key}) has a malformed %-escape (value not shown)`))
      }
      out.push([key, Redacted.make(value)])
    }
    return Effect.succeed(out)
  })

const headers = Effect.flatMap(
  Effect.map(
    Effect.forEach(["OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"], secretVariable),
    Option.firstSomeOf
  ),
  Option.match({
    onNone: () => Effect.succeed<ReadonlyArray<readonly [string, Redacted.Redacted<string>]>>([]),
    onSome: ({ name, value }) => parseHeaders(name, value)
  })
)

/** `service.name`: `OTEL_SERVICE_NAME`, else the one of `OTEL_RESOURCE_ATTRIBUTES`, else `modelgate`. */
const serviceName = Effect.flatMap(variable("OTEL_SERVICE_NAME"), (name) =>
  Option.isSome(name)
    ? Effect.succeed(name.value)
    : Effect.map(variable("OTEL_RESOURCE_ATTRIBUTES"), (attributes) => {
      for (const pair of Option.getOrElse(attributes, () => "").split(",")) {
        const at = pair.indexOf("=")
        if (at > 0 && pair.slice(0, at).trim() === "service.name" && pair.slice(at + 1).trim() !== "") return pair.slice(at + 1).trim()
      }
      return "modelgate"
    }))

/** Whole milliseconds from 1 to an hour in the first of `names` that is set, else `fallback`. */
const milliseconds = (names: ReadonlyArray<string>, fallback: number) =>
  Effect.flatMap(firstOf(names), (found): Effect.Effect<number, ConfigError> => {
    if (Option.isNone(found)) return Effect.succeed(fallback)
    const { name, value } = found.value
    const ms = Number(value)
    return Number.isInteger(ms) && ms >= 1 && ms <= 3_600_000
      ? Effect.succeed(ms)
      : Effect.fail(invalid(name, `expected whole milliseconds from 1 to 3600000, got "${value}"`))
  })

const exportIntervalMs = milliseconds(["OTEL_BSP_SCHEDULE_DELAY"], 5_000)

/** How long an export waits for the collector: OpenTelemetry's variables, 10 s by default. */
const exportTimeoutMs = milliseconds(["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"], 10_000)

const samplers = ["parentbased_always_on", "always_on", "always_off", "traceidratio", "parentbased_always_off", "parentbased_traceidratio"]

/** Which calls are traced: OpenTelemetry's samplers of the same names. */
const sampling = Effect.flatMap(
  Effect.all([variable("OTEL_TRACES_SAMPLER"), variable("OTEL_TRACES_SAMPLER_ARG")]),
  ([sampler, arg]): Effect.Effect<ChatSpan.Sampling, ConfigError> => {
    const name = Option.getOrElse(sampler, () => "parentbased_always_on")
    if (!samplers.includes(name)) {
      return Effect.fail(invalid("OTEL_TRACES_SAMPLER", `"${name}" is not supported: use one of ${samplers.join(", ")}`))
    }
    const parentBased = name.startsWith("parentbased_")
    if (!name.endsWith("traceidratio")) return Effect.succeed({ parentBased, ratio: name.endsWith("always_off") ? 0 : 1 })
    const ratio = Option.isNone(arg) ? 1 : Number(arg.value)
    return Number.isFinite(ratio) && ratio >= 0 && ratio <= 1
      ? Effect.succeed({ parentBased, ratio })
      : Effect.fail(invalid("OTEL_TRACES_SAMPLER_ARG", `expected a ratio from 0 to 1 for ${name}, got "${Option.getOrElse(arg, () => "")}"`))
  }
)

/** Whether the environment turns tracing off whatever else it says. */
const disabled = Effect.flatMap(variable("OTEL_SDK_DISABLED"), (sdk) =>
  Option.isSome(sdk) && sdk.value.toLowerCase() === "true"
    ? Effect.succeed(true)
    : Effect.flatMap(variable("OTEL_TRACES_EXPORTER"), (exporter): Effect.Effect<boolean, ConfigError> => {
      if (Option.isNone(exporter) || exporter.value === "otlp") return Effect.succeed(false)
      if (exporter.value === "none") return Effect.succeed(true)
      return Effect.fail(invalid("OTEL_TRACES_EXPORTER", `"${exporter.value}" is not supported: use otlp (the default) or none`))
    }))

/** The tracing settings of the environment: none when no collector is named, or tracing is turned off. */
export const settingsFromEnv: Effect.Effect<Option.Option<TracingSettings>, ConfigError> = Effect.flatMap(disabled, (off) =>
  off
    ? Effect.succeedNone
    : Effect.flatMap(endpoint, (url) =>
      Option.isNone(url)
        ? Effect.succeedNone
        : Effect.map(
          Effect.all({ protocol, headers, serviceName, exportIntervalMs, exportTimeoutMs, sampling }),
          (rest): Option.Option<TracingSettings> => Option.some({ url: url.value, ...rest })
        )))

/**
 * The tracer of `settings`: the OTLP exporter (its header names redacted in
 * whatever it logs), with the trace context kept from the providers; with
 * none, the tracer off.
 */
export const layer = (settings: Option.Option<TracingSettings>): Layer.Layer<never> => {
  if (Option.isNone(settings)) return Layer.setTracerEnabled(false)
  const { exportIntervalMs, exportTimeoutMs, protocol, sampling, serviceName, url } = settings.value
  const names = settings.value.headers.map(([name]) => name)
  const where = new URL(url)
  // Origin and path only: a URL's credentials or query (a token) are not shown.
  const shown = `${where.origin}${where.pathname}`
  const exporter = OtlpTracer.layer({
    url,
    resource: { serviceName, serviceVersion: version },
    headers: Object.fromEntries(settings.value.headers.map(([name, value]) => [name, Redacted.value(value)])),
    exportInterval: exportIntervalMs
  }).pipe(
    Layer.provide(protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
    Layer.provide(TraceExportWatch.layer(shown, Duration.millis(exportTimeoutMs))),
    Layer.locallyWith(Headers.currentRedactedNames, (redacted) => [...redacted, ...names])
  )
  const announced = Layer.effectDiscard(Effect.logInfo(`traces: OTLP ${protocol} to ${shown} as ${serviceName}`))
  // The tracer is off but for the chat calls (ChatSpan.traceRequests): no spans of background work.
  return Layer.mergeAll(
    announced,
    exporter,
    Layer.setTracerEnabled(false),
    Layer.locallyScoped(ChatSpan.traceRequests, sampling),
    Layer.locallyScoped(HttpClient.currentTracerPropagation, false)
  )
}

/** `layer` of the environment's settings (`settingsFromEnv`). */
export const fromEnv: Layer.Layer<never, ConfigError> = Layer.unwrapEffect(Effect.map(settingsFromEnv, layer))
