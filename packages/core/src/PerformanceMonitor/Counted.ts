/**
 * Which calls count in a model's figures: a cache hit says nothing about the
 * model, nor does a failure that is the request's fault (400, a prompt too
 * long, content filtered), its key's (refused), its client's (gone before
 * the answer: `Interrupted`), nor a call never sent (`NotSent`: its model
 * was taken out, or its client left, while it waited for a concurrency permit). Those are still recorded; they only stay out
 * of the windows, the success rate and the degradation alerts.
 */
import type { PerformanceRecord } from "@modelgate/domain/Records"

/** Error classes of failures the model is not to blame for. */
export const notTheModelsFault: ReadonlySet<string> = new Set([
  "BadRequest",
  "ContextLengthExceeded",
  "ContentFiltered",
  "Unauthorized",
  "Interrupted",
  "NotSent"
])

/** Whether `record` counts in its model's windows. */
export const counted = (record: PerformanceRecord): boolean =>
  !record.cacheHit && (record.success || record.errorClass === undefined || !notTheModelsFault.has(record.errorClass))
