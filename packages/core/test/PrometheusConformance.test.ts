/**
 * `/metrics` as a Prometheus scraper reads it, for any traffic (models whose
 * ids hold quotes, backslashes, line feeds; failovers and health checks
 * before a model's first call): every family has one `# HELP` and one
 * `# TYPE` before its samples; metric and label names are valid; label values
 * escape `\`, `"` and line feeds; no series twice; one label set per family;
 * histogram buckets cumulative with `le="+Inf"` equal to `_count`; and from
 * one scrape to the next, no counter series goes away or goes down.
 */
import { assert, describe, it } from "@effect/vitest"
import type { PicoUsd } from "@modelgate/domain/Money"
import { CostRecord, FailoverRecord, type GatewayRecord, HealthCheckRecord, PerformanceRecord } from "@modelgate/domain/Records"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"
import * as Metrics from "../src/Metrics.js"
import * as MetricsStore from "../src/MetricsStore.js"
import * as RecordStore from "../src/RecordStore.js"

const Live = Metrics.layer.pipe(Layer.provideMerge(MetricsStore.layerMemory), Layer.provideMerge(RecordStore.layerMemory))

const models = [
  { model: "m1", provider: "p1" },
  { model: 'we"ird', provider: "p2" },
  { model: "back\\slash\nline", provider: "p1" },
  { model: "ünï €", provider: "p3" }
]

const record = fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 200_000 }), fc.boolean()).map(([i, kind, n, flag]): GatewayRecord => {
  const { model, provider } = models[i]!
  const common = { at: n, requestId: `r${n}` }
  switch (kind) {
    case 0:
      return PerformanceRecord.make({
        ...common, model, provider, latencyMs: n, success: flag, outputTokens: n % 500, streamed: false, cacheHit: false,
        ...(flag ? {} : { errorClass: n % 2 === 0 ? "RateLimited" : "ServerError" })
      })
    case 1:
      return CostRecord.make({
        ...common, model, provider, promptTokens: n % 1000, completionTokens: n % 300, cachedTokens: 0, costPicoUsd: n * 1000 as PicoUsd, cacheHit: flag
      })
    case 2:
      return FailoverRecord.make({ at: n, from: model, provider, to: "m1", reason: "RateLimitExceeded", attempt: 1, elapsedMs: 0 })
    default:
      return HealthCheckRecord.make({ at: n, model, provider, ok: flag, latencyMs: n % 1000, source: "probe" })
  }
})

const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const labelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/

interface Sample { readonly name: string; readonly labels: Array<[string, string]>; readonly value: number }

/** Parse one sample line strictly (label values: only `\\`, `\"` and `\n` escapes). */
const parseSample = (line: string): Sample => {
  const name = /^[^{ ]+/.exec(line)![0]
  assert.match(name, nameRe, line)
  let i = name.length
  const labels: Array<[string, string]> = []
  if (line[i] === "{") {
    i++
    while (line[i] !== "}") {
      const key = /^[^=]+/.exec(line.slice(i))![0]
      assert.match(key, labelNameRe, line)
      i += key.length
      assert.strictEqual(line.slice(i, i + 2), '="', line)
      i += 2
      let value = ""
      while (line[i] !== '"') {
        assert.isBelow(i, line.length, `unterminated label value: ${line}`)
        if (line[i] === "\\") {
          const escaped = line[i + 1]
          assert.include(["\\", '"', "n"], escaped, line)
          value += escaped === "n" ? "\n" : escaped
          i += 2
        } else value += line[i++]
      }
      i++
      labels.push([key, value])
      if (line[i] === ",") i++
    }
    i++
  }
  assert.strictEqual(line[i], " ", line)
  const raw = line.slice(i + 1)
  assert.match(raw, /^(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|[-+]Inf|NaN)$/, line)
  return { name, labels, value: raw.endsWith("Inf") ? (raw.startsWith("-") ? -Infinity : Infinity) : Number(raw) }
}

/** Check one exposition and return its counter series (name + labels) with their values. */
const check = (text: string): Map<string, number> => {
  assert.isTrue(text.endsWith("\n"))
  const help = new Set<string>()
  const types = new Map<string, string>()
  const labelSets = new Map<string, string>()
  const series = new Set<string>()
  const counters = new Map<string, number>()
  const buckets = new Map<string, Array<[number, number]>>()
  const counts = new Map<string, number>()
  for (const line of text.trimEnd().split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta !== null) {
      const [, kind, name, rest] = meta
      assert.isFalse(kind === "HELP" ? help.has(name!) : types.has(name!), `second # ${kind} ${name}`)
      if (kind === "HELP") help.add(name!)
      else types.set(name!, rest!)
      continue
    }
    const s = parseSample(line)
    const family = types.has(s.name) ? s.name : s.name.replace(/_(bucket|sum|count)$/, "")
    assert.isTrue(types.has(family) && help.has(family), `a sample before its family's HELP/TYPE: ${line}`)
    const key = `${s.name}${JSON.stringify(s.labels)}`
    assert.isFalse(series.has(key), `a series twice: ${line}`)
    series.add(key)
    const names = s.labels.map(([k]) => k).filter((k) => k !== "le").join(",")
    assert.strictEqual(labelSets.get(s.name) ?? names, names, `label names differ within ${s.name}`)
    labelSets.set(s.name, names)
    if (types.get(family) === "counter" || types.get(family) === "histogram") counters.set(key, s.value)
    const id = JSON.stringify(s.labels.filter(([k]) => k !== "le"))
    if (s.name.endsWith("_bucket")) {
      const le = s.labels.find(([k]) => k === "le")![1]
      buckets.set(id, [...(buckets.get(id) ?? []), [le === "+Inf" ? Infinity : Number(le), s.value]])
    }
    if (types.get(family) === "histogram" && s.name.endsWith("_count")) counts.set(id, s.value)
  }
  for (const [id, list] of buckets) {
    for (let k = 1; k < list.length; k++) {
      assert.isAbove(list[k]![0], list[k - 1]![0], `le ascending for ${id}`)
      assert.isAtLeast(list[k]![1], list[k - 1]![1], `cumulative buckets for ${id}`)
    }
    assert.strictEqual(list.at(-1)![0], Infinity, `a +Inf bucket for ${id}`)
    assert.strictEqual(list.at(-1)![1], counts.get(id), `+Inf = _count for ${id}`)
  }
  return counters
}

describe("Prometheus exposition", () => {
  it("conforms for any traffic, and no counter series goes away or down between scrapes", () => {
    fc.assert(
      fc.property(fc.array(fc.array(record, { maxLength: 12 }), { minLength: 2, maxLength: 5 }), (scrapes) =>
        Effect.runSync(Effect.gen(function* () {
          const metrics = yield* Metrics.Metrics
          let before = new Map<string, number>()
          for (const records of scrapes) {
            yield* Effect.forEach(records, metrics.observe)
            const after = check(yield* metrics.prometheus)
            for (const [key, value] of before) {
              assert.isTrue(after.has(key), `${key} went away`)
              assert.isAtLeast(after.get(key)!, value, `${key} went down`)
            }
            before = after
          }
        }).pipe(Effect.provide(Live)))),
      { numRuns: 40 }
    )
  })
})
