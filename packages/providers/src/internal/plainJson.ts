/**
 * Checks shared by the adapters' plain-JS fast paths (`<Provider>/shape.ts`):
 * each reads a `JSON.parse` result into exactly the value its wire Schema
 * would decode, or gives `undefined` so the caller decodes with the Schema.
 * JSON has no `undefined`, so an absent key and an `undefined` value are the
 * same here.
 */

/** A JSON number the wires' counts accept: a non-negative safe integer. */
export const isCount = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0

/** A JSON object (not an array, not null). */
export const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** A decoded value under construction: optional keys are set one by one, in the Schema's order. */
export type Mutable<A> = { -readonly [K in keyof A]: A[K] }

/**
 * An array whose every element `element` reads, as the read elements; or
 * `undefined` when `u` is not an array or any element is not read (the whole
 * value then goes to the Schema).
 */
export const arrayOf = <A>(u: unknown, element: (item: unknown) => A | undefined): Array<A> | undefined => {
  if (!Array.isArray(u)) return undefined
  const out: Array<A> = []
  for (const item of u) {
    const read = element(item)
    if (read === undefined) return undefined
    out.push(read)
  }
  return out
}
