/**
 * Deep merge of JSON documents: how an environment overlay applies over
 * `gateway.json`.
 */

/** A plain JSON object (not an array, not null). */
export const isPlainObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * `overlay` over `base`: objects merge key by key, recursively; every other value
 * of the overlay (scalar, array, null) replaces the base value. Neither input is
 * modified; keys keep their first-seen order.
 */
export const deepMerge = (base: unknown, overlay: unknown): unknown => {
  if (overlay === undefined) return base
  if (!isPlainObject(base) || !isPlainObject(overlay)) return overlay
  const keys = [...Object.keys(base), ...Object.keys(overlay).filter((k) => !Object.hasOwn(base, k))]
  return Object.fromEntries(keys.map((k) => [k, Object.hasOwn(overlay, k) ? deepMerge(base[k], overlay[k]) : base[k]]))
}

/** A copy of `doc` with `value` set at `path`, creating objects on the way. */
export const setPath = (doc: unknown, path: ReadonlyArray<string>, value: unknown): unknown => {
  const [head, ...rest] = path
  if (head === undefined) return value
  const obj = isPlainObject(doc) ? doc : {}
  return { ...Object.fromEntries(Object.entries(obj)), [head]: setPath(obj[head], rest, value) }
}
