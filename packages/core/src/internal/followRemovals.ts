/**
 * Per-model state and the registry. The services that keep state per model id
 * (performance windows, failover counts, quality tracks, limiter windows)
 * follow `ModelRegistry.changes` in their layer's scope and drop what they
 * hold for models the registry no longer has: nothing is polled and nothing
 * runs on the request path. A change that keeps a model (a reload of the same
 * file, a price edited, the model disabled) never evicts it; only a model id
 * absent from the new registry is removed.
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Option, type Scope, Stream } from "effect"
import type { ModelRegistry } from "../ModelRegistry.js"

/** What a service learns from the registry's removals. */
export interface Removals {
  /**
   * Whether `id` was removed by the latest change that removed models and has
   * not come back since. A call in flight at the removal that finishes
   * afterwards must not create state for it again; ask only where state would
   * be created (a rare path), not on every request.
   */
  readonly gone: (id: string) => boolean
}

const nothingGone: Removals = { gone: () => false }

/**
 * Follow `registry` (when the context has one) in a fiber of the current
 * scope: after every change that adds or removes model ids, `evict` is given
 * the ids the registry now has, and drops what the service holds for any
 * other id (including state that a late call created after an earlier
 * removal).
 */
export const followRemovals = (
  registry: Option.Option<ModelRegistry["Type"]>,
  evict: (present: ReadonlySet<string>) => Effect.Effect<void>
): Effect.Effect<Removals, never, Scope.Scope> =>
  Option.match(registry, {
    onNone: () => Effect.succeed(nothingGone),
    onSome: (registry) =>
      Effect.gen(function* () {
        let present: ReadonlySet<string> = idsOf(yield* registry.all)
        let gone = new Set<string>()
        const onChange = (models: ReadonlyArray<ModelMetadata>) =>
          Effect.suspend(() => {
            const next = idsOf(models)
            const previous = present
            if (next.size === previous.size && [...next].every((id) => previous.has(id))) return Effect.void
            present = next
            const removed = [...previous].filter((id) => !next.has(id))
            if (removed.length > 0) gone = new Set(removed)
            for (const id of gone) if (next.has(id)) gone.delete(id)
            return evict(next)
          })
        yield* registry.changes.pipe(Stream.runForEach(onChange), Effect.forkScoped)
        return { gone: (id: string) => gone.size > 0 && gone.has(id) }
      })
  })

const idsOf = (models: ReadonlyArray<ModelMetadata>): ReadonlySet<string> => new Set(models.map((m) => m.id))
