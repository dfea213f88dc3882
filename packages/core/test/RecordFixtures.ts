/** Records the record-writer tests offer, numbered by their time. */
import { CostRecord, HealthCheckRecord } from "@modelgate/domain/Records"

/** A cost record at instant `i` (request `r<i>`, model m1 of p1, 1 000 pico-USD). */
export const cost = (i: number) =>
  CostRecord.make({
    at: i,
    requestId: `r${i}`,
    model: "m1",
    provider: "p1",
    promptTokens: 10,
    completionTokens: 5,
    cachedTokens: 0,
    costPicoUsd: 1_000,
    cacheHit: false
  })

/** A passing probe of model m1 at instant `i` (a record that is dropped, not waited for, on a full queue). */
export const health = (i: number) => HealthCheckRecord.make({ at: i, model: "m1", ok: true, latencyMs: 10, source: "probe" })
