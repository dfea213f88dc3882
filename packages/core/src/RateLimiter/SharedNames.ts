/**
 * The names limiter keys go by in the store instances share
 * (`LimiterUsageStore`). A key window (`model@openai#1`, `Steps.storeKey`) is
 * shared under its key's shared id (`model@openai~3fa9c2d1e07b4a55`,
 * `ApiKeys.sharedIds`), so instances that read their keys in another order
 * (while keys are rotated) still count each key's requests and blocks on that
 * key, and a key window of a key this instance does not hold is left out.
 * A model's own window keeps its name.
 */

/** How limiter keys are named in the shared store, both ways. */
export interface SharedNames {
  readonly toShared: (key: string) => string
  /** The local key of a shared one; undefined for the window of a key this instance does not hold. */
  readonly fromShared: (key: string) => string | undefined
}

/** Keys shared as they are named here (no shared ids known: key windows by position). */
export const asIs: SharedNames = { toShared: (key) => key, fromShared: (key) => key }

/** What a shared id looks like (`ApiKeys/SharedId.ts`). */
const sharedIdShape = /^[^@~]+~[0-9a-f]{16}$/

/** Names by `sharedIds` (each key id to its shared id). */
export const make = (sharedIds: ReadonlyMap<string, string>): SharedNames => {
  const localIds = new Map([...sharedIds].map(([id, shared]) => [shared, id] as const))
  return {
    toShared: (key) => {
      const at = key.lastIndexOf("@")
      const shared = at < 0 ? undefined : sharedIds.get(key.slice(at + 1))
      return shared === undefined ? key : `${key.slice(0, at)}@${shared}`
    },
    fromShared: (key) => {
      const at = key.lastIndexOf("@")
      if (at < 0) return key
      const suffix = key.slice(at + 1)
      if (!sharedIdShape.test(suffix)) return key
      const local = localIds.get(suffix)
      return local === undefined ? undefined : `${key.slice(0, at)}@${local}`
    }
  }
}
