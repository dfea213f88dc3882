/**
 * Models that moved to another endpoint while the gateway runs: a reload or
 * `PATCH /admin/models` gave one another provider or provider model, or a
 * reload gave its provider another `baseUrl`. What was learnt of a model at
 * its old endpoint (health, latency, failures) says nothing of the new one,
 * and a call that was sent to the old endpoint and ends after the move must
 * not count for the new one. The services that keep such state update this
 * book from the registry and the config, drop the moved models' state, and
 * ask `sentBefore` only where an outcome would be counted (nothing when no
 * model ever moved).
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Clock, Effect, Option, type Scope, Stream } from "effect"
import type { GatewayConfig } from "../GatewayConfig.js"
import type { GatewayConfigData } from "../GatewayConfigSchema.js"
import type { ModelRegistry } from "../ModelRegistry.js"

/** Where calls of `model` go under `providers`: its provider, that provider's base URL and the provider's name of the model. */
export const endpointOf = (model: ModelMetadata, providers: GatewayConfigData["providers"]): string =>
  `${model.provider} ${providers[model.provider]?.baseUrl ?? ""} ${model.providerModel}`

/** Each model's endpoint, and when the ones that moved moved. */
export class EndpointMoves {
  private endpoints = new Map<string, string>()
  private readonly movedAt = new Map<string, number>()

  /**
   * Take the registry's models under the config's providers at `now`: the ids
   * of the models whose endpoint is not the one of the previous update (none
   * on the first update, nor for a model new to the registry).
   */
  update(models: ReadonlyArray<ModelMetadata>, providers: GatewayConfigData["providers"], now: number): ReadonlyArray<string> {
    const next = new Map<string, string>()
    const moved: Array<string> = []
    for (const model of models) {
      const endpoint = endpointOf(model, providers)
      next.set(model.id, endpoint)
      const before = this.endpoints.get(model.id)
      if (before !== undefined && before !== endpoint) {
        moved.push(model.id)
        this.movedAt.set(model.id, now)
      }
    }
    for (const id of this.movedAt.keys()) if (!next.has(id)) this.movedAt.delete(id)
    this.endpoints = next
    return moved
  }

  /** Whether a call of `model` sent at `startedAt` went to an endpoint the model has left since. */
  sentBefore(model: string, startedAt: number): boolean {
    if (this.movedAt.size === 0) return false
    const at = this.movedAt.get(model)
    return at !== undefined && startedAt < at
  }
}

/**
 * Follow `registry` (when the context has one) and `config` in a fiber of the
 * current scope: after every change, `onMoved` is given the ids of the models
 * that moved to another endpoint (called only when some did), to drop what
 * the service holds for them. The book answers `sentBefore`.
 */
export const followMoves = (
  registry: Option.Option<ModelRegistry["Type"]>,
  config: GatewayConfig["Type"],
  onMoved: (ids: ReadonlyArray<string>) => void
): Effect.Effect<EndpointMoves, never, Scope.Scope> =>
  Effect.gen(function* () {
    const moves = new EndpointMoves()
    if (Option.isNone(registry)) return moves
    yield* Stream.zipLatest(registry.value.changes, config.changes).pipe(
      Stream.runForEach(([models, c]) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            const moved = moves.update(models, c.providers, now)
            if (moved.length > 0) onMoved(moved)
          }))
      ),
      Effect.forkScoped
    )
    return moves
  })
