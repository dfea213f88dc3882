/** Records the record-writer tests offer: a cost record numbered by its time. */
import { CostRecord } from "@modelgate/domain/Records"

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
