import { assert, describe, it } from "@effect/vitest"
import { ModelWindow, type Sample } from "@modelgate/core/PerformanceMonitor/ModelWindow"
import * as fc from "fast-check"

const sample = fc.record({
  // Mostly calls close together (every call of the ring in the window), now and then a long pause.
  gap: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 2_000 }), weight: 9 }, { arbitrary: fc.integer({ min: 0, max: 400_000 }), weight: 1 }),
  latencyMs: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.double({ min: 0, max: 5_000, noNaN: true })),
  ttftMs: fc.option(fc.integer({ min: 0, max: 2_000 }), { nil: undefined }),
  success: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
  errorClass: fc.constantFrom("Timeout", "ServerError", undefined),
  outputTokens: fc.integer({ min: 0, max: 200 })
})

describe("ModelWindow", () => {
  it("incremental recent statistics equal the statistics computed from the window's calls (property)", () => {
    fc.assert(
      fc.property(
        fc.array(sample, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom(10_000, 60_000, 300_000),
        fc.integer({ min: 0, max: 120_000 }),
        (samples, recentRequests, recentWindowMs, readAfter) => {
          const config = { recentRequests, recentWindowMs, baselineWindowMs: 3_600_000 }
          const window = new ModelWindow()
          let at = 1_000_000
          for (const s of samples) {
            at += s.gap
            const added: Sample = { at, latencyMs: s.latencyMs, ttftMs: s.ttftMs, success: s.success, errorClass: s.errorClass, outputTokens: s.outputTokens }
            window.add(added, config)
            // Read right after each call (the request path) and once later.
            assert.deepStrictEqual(window.recentStats(at, config), window.computeRecentStats(at, config))
          }
          assert.deepStrictEqual(window.recentStats(at + readAfter, config), window.computeRecentStats(at + readAfter, config))
        }
      ),
      { numRuns: 300 }
    )
  })

  it("keeps matching the reference when the ring is resized", () => {
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 60 }), (samples, sizes) => {
        const window = new ModelWindow()
        let at = 0
        samples.forEach((s, i) => {
          at += s.gap % 100
          const config = { recentRequests: sizes[i % sizes.length]!, recentWindowMs: 300_000, baselineWindowMs: 3_600_000 }
          window.add({ at, latencyMs: s.latencyMs, ttftMs: s.ttftMs, success: s.success, errorClass: s.errorClass, outputTokens: s.outputTokens }, config)
          assert.deepStrictEqual(window.recentStats(at, config), window.computeRecentStats(at, config))
        })
      }),
      { numRuns: 200 }
    )
  })
})
