/**
 * Request ids: the client's `x-request-id` when it is sane, else a generated
 * one (a per-process prefix from `Clock` and `Random` plus a counter: no work per
 * request beyond an increment).
 */
import { Clock, Effect, Random } from "effect"

const sane = /^[\w.:@/+=-]{1,128}$/

/** The id of one request, from its `x-request-id` header when sane. */
export type RequestIds = (header: string | undefined) => string

/** Build the id source. */
export const make: Effect.Effect<RequestIds> = Effect.gen(function* () {
  const started = yield* Clock.currentTimeMillis
  const prefix = `${started.toString(36)}${(yield* Random.nextIntBetween(36 ** 3, 36 ** 4)).toString(36)}`
  let counter = 0
  return (header) => {
    if (header !== undefined && sane.test(header)) return header
    counter = (counter + 1) % Number.MAX_SAFE_INTEGER
    return `mg-${prefix}-${counter.toString(36)}`
  }
})
