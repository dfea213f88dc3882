import { describe, it } from "@effect/vitest"
import type { Capability, ModelMetadata } from "@modelgate/domain/Model"
import { tokenCost, toUsd } from "@modelgate/domain/Money"
import type { Priority, TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either } from "effect"
import * as fc from "fast-check"
import type { SelectionInput } from "../src/ModelSelector.js"
import { model, setupSelector } from "./RoutingFixtures.js"

const numRuns = 150
const capabilities: ReadonlyArray<Capability> = ["chat", "tools", "json_mode", "vision", "code", "reasoning"]
const priorities: ReadonlyArray<Priority> = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]

const arbModel = fc.record({
  capabilities: fc.subarray([...capabilities], { minLength: 1 }),
  contextWindow: fc.integer({ min: 1_000, max: 200_000 }),
  input: fc.double({ min: 0, max: 30, noNaN: true }),
  output: fc.double({ min: 0, max: 60, noNaN: true }),
  qualityScore: fc.double({ min: 0, max: 1, noNaN: true }),
  enabled: fc.boolean(),
  available: fc.boolean(),
  rateLimited: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
  perf: fc.option(
    fc.record({
      requests: fc.integer({ min: 1, max: 500 }),
      successRate: fc.double({ min: 0, max: 1, noNaN: true }),
      latencyP50Ms: fc.integer({ min: 1, max: 20_000 }),
      extraP95Ms: fc.integer({ min: 0, max: 20_000 })
    }),
    { nil: undefined }
  )
})
type ArbModel = typeof arbModel extends fc.Arbitrary<infer T> ? T : never

const arbRequirements = fc.record({
  capabilities: fc.subarray([...capabilities], { maxLength: 2 }),
  priority: fc.constantFrom(...priorities),
  maxCostPerRequestUsd: fc.option(fc.double({ min: 0, max: 0.5, noNaN: true }), { nil: undefined }),
  minContextWindow: fc.option(fc.integer({ min: 1, max: 150_000 }), { nil: undefined }),
  maxLatencyMs: fc.option(fc.integer({ min: 100, max: 10_000 }), { nil: undefined }),
  taskType: fc.option(fc.constantFrom("code", "reasoning", "chat", "poetry"), { nil: undefined })
})

const toModel = (id: string, m: ArbModel): ModelMetadata =>
  model(id, {
    capabilities: m.capabilities,
    contextWindow: m.contextWindow,
    pricing: { inputPerMillion: m.input, outputPerMillion: m.output },
    qualityScore: m.qualityScore,
    enabled: m.enabled
  })

/** Build a selector over the generated models with their health, limits and performance. */
const world = (models: ReadonlyArray<ArbModel>) =>
  Effect.gen(function*() {
    const metas = models.map((m, i) => toModel(`m${i}`, m))
    const env = yield* setupSelector(metas)
    for (const [i, m] of models.entries()) {
      const id = `m${i}`
      if (!m.available) yield* env.health.set(id, false)
      if (m.rateLimited !== undefined) yield* env.limiter.set(id, { fits: false, retryAfterMs: m.rateLimited })
      if (m.perf !== undefined) {
        yield* env.monitor.set(id, {
          requests: m.perf.requests,
          successRate: m.perf.successRate,
          latencyP50Ms: m.perf.latencyP50Ms,
          latencyP95Ms: m.perf.latencyP50Ms + m.perf.extraP95Ms,
          latencyP99Ms: m.perf.latencyP50Ms + m.perf.extraP95Ms
        })
      }
    }
    return { ...env, metas }
  })

const input = (r: Partial<TaskRequirements>, prompt: number, output: number): SelectionInput => ({
  requirements: { capabilities: [], priority: "MEDIUM", ...r },
  estimatedPromptTokens: prompt,
  maxOutputTokens: output,
  // Named by the request (\`max_tokens\`): the cost cap holds this output (without it, the model's whole limit).
  outputTokensAsked: output
})

/** Every hard requirement, computed independently of the selector. */
const satisfies = (meta: ModelMetadata, m: ArbModel, req: SelectionInput): boolean => {
  const r = req.requirements
  const cost = toUsd(
    tokenCost(req.estimatedPromptTokens, meta.pricing.inputPerMillion) +
      tokenCost(req.maxOutputTokens, meta.pricing.outputPerMillion)
  )
  return meta.enabled && m.available && m.rateLimited === undefined &&
    r.capabilities.every((c) => meta.capabilities.includes(c)) &&
    meta.contextWindow >= req.estimatedPromptTokens + req.maxOutputTokens &&
    (r.minContextWindow === undefined || meta.contextWindow >= r.minContextWindow) &&
    (r.maxCostPerRequestUsd === undefined || cost <= r.maxCostPerRequestUsd)
}

const run = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)

describe("ModelSelector properties", () => {
  it("the chosen model satisfies every hard requirement, and NoEligibleModel only when none does", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(arbModel, { minLength: 1, maxLength: 6 }),
        arbRequirements,
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 8_000 }),
        (models, requirements, prompt, output) =>
          run(Effect.gen(function*() {
            const { metas, selector } = yield* world(models)
            const req = input(requirements, prompt, output)
            const result = yield* Effect.either(selector.select(req))
            const anyFits = metas.some((meta, i) => satisfies(meta, models[i]!, req))
            if (Either.isLeft(result)) {
              if (anyFits) throw new Error(`NoEligibleModel although a model fits: ${result.left.message}`)
              if (result.left.exclusions.length !== metas.length) throw new Error("not every model is explained")
              return
            }
            const i = metas.findIndex((m) => m.id === result.right.model.id)
            if (!satisfies(metas[i]!, models[i]!, req)) throw new Error(`chose ${result.right.model.id} breaking a requirement`)
          }))
      ),
      { numRuns }
    ))

  it("of two models equal in all but price, the cheaper ranks first at LOW and MEDIUM", () =>
    fc.assert(
      fc.asyncProperty(
        arbModel,
        fc.double({ min: 0.01, max: 30, noNaN: true }),
        fc.double({ min: 0.01, max: 60, noNaN: true }),
        fc.double({ min: 1, max: 100, noNaN: true }),
        fc.double({ min: 1.01, max: 100, noNaN: true }),
        fc.boolean(),
        fc.constantFrom<Priority>("LOW", "MEDIUM"),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 4_000 }),
        (base, inPrice, outPrice, k1, k2, cheapFirstId, priority, prompt, output) =>
          run(Effect.gen(function*() {
            const same = { ...base, enabled: true, available: true, rateLimited: undefined, contextWindow: 200_000 }
            const cheap = { ...same, input: inPrice, output: outPrice }
            const dear = { ...same, input: inPrice * k1, output: outPrice * k2 }
            const [m0, m1] = cheapFirstId ? [cheap, dear] : [dear, cheap]
            const { selector } = yield* world([m0, m1])
            const ranking = yield* selector.rank(input({ priority }, prompt, output))
            const expected = cheapFirstId ? "m0" : "m1"
            if (ranking.ranked[0]?.model.id !== expected) {
              throw new Error(`expected ${expected} first, got ${ranking.ranked.map((s) => `${s.model.id}=${s.score}`).join(", ")}`)
            }
          }))
      ),
      { numRuns }
    ))

  it("an unavailable model never ranks", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(arbModel, { minLength: 1, maxLength: 6 }),
        arbRequirements,
        (models, requirements) =>
          run(Effect.gen(function*() {
            const { selector } = yield* world(models)
            const ranking = yield* selector.rank(input(requirements, 500, 500))
            for (const s of ranking.ranked) {
              const i = Number(s.model.id.slice(1))
              if (!models[i]!.available) throw new Error(`unavailable ${s.model.id} ranked`)
            }
            for (const [i, m] of models.entries()) {
              if (!m.available && !ranking.excluded.some((e) => e.model === `m${i}`)) throw new Error(`m${i} not excluded`)
            }
          }))
      ),
      { numRuns }
    ))

  it("worse measured latency never raises a model's rank", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(arbModel, { minLength: 2, maxLength: 6 }),
        fc.nat(),
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.constantFrom(...priorities),
        fc.option(fc.integer({ min: 100, max: 10_000 }), { nil: undefined }),
        (raw, pick, worseP50, worseP95, priority, maxLatencyMs) =>
          run(Effect.gen(function*() {
            const models = raw.map((m) => ({ ...m, enabled: true, available: true, rateLimited: undefined }))
            const target = pick % models.length
            const before = models[target]!.perf ?? { requests: 50, successRate: 0.9, latencyP50Ms: 500, extraP95Ms: 500 }
            const worse = { ...before, latencyP50Ms: before.latencyP50Ms + worseP50, extraP95Ms: before.extraP95Ms + worseP95 }
            const positionOf = (ms: ReadonlyArray<ArbModel>) =>
              Effect.gen(function*() {
                const { selector } = yield* world(ms)
                const ranking = yield* selector.rank(input({ priority, maxLatencyMs }, 500, 500))
                return ranking.ranked.findIndex((s) => s.model.id === `m${target}`)
              })
            const a = yield* positionOf(models.map((m, i) => (i === target ? { ...m, perf: before } : m)))
            const b = yield* positionOf(models.map((m, i) => (i === target ? { ...m, perf: worse } : m)))
            if (b < a) throw new Error(`rank rose from ${a} to ${b} with worse latency`)
          }))
      ),
      { numRuns }
    ))
})
