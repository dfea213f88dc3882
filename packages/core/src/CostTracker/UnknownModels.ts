/**
 * The run-time side of `GatewayConfig/ModelReferences.ts`: budgets naming a
 * model the registry does not have are logged, never refused.
 */
import { Effect, type Scope, Stream } from "effect"
import { GatewayConfig } from "../GatewayConfig.js"
import { unknownBudgetModels } from "../GatewayConfig/ModelReferences.js"
import { ModelRegistry } from "../ModelRegistry.js"

/**
 * Log a warning, at start and whenever the registry or the configuration
 * changes the set, of each `budgets.perModel` entry naming a model the
 * registry does not have: such a budget holds for no request. Not an error: a
 * reload that removes a model a budget names must not make the configuration
 * unloadable, and a model added through the admin API may come later. (Virtual
 * keys' models are warned of by the gateway's auth.) Runs in a fiber of the
 * current scope.
 */
export const warnUnknownBudgetModels: Effect.Effect<void, never, GatewayConfig | ModelRegistry | Scope.Scope> = Effect.gen(function* () {
  const registry = yield* ModelRegistry
  const config = yield* GatewayConfig
  let last = ""
  yield* Stream.zipLatest(registry.changes, config.changes).pipe(
    Stream.runForEach(([models, data]) => {
      const unknown = unknownBudgetModels(data, new Set(models.map((m) => m.id))).map((r) => r.path).join(", ")
      if (unknown === last) return Effect.void
      last = unknown
      return unknown === ""
        ? Effect.void
        : Effect.logWarning(`budgets name models the registry does not have, and hold for no request: ${unknown}`)
    }),
    Effect.forkScoped
  )
})
