/**
 * The real watchers of the config directory, over real files, for tests of
 * what a deploy does to that directory (replaced, or reached through a
 * repointed symlink): each built in the test's scope, with an effect that
 * waits until the version a test wrote is applied.
 */
import { NodeContext } from "@effect/platform-node"
import * as Events from "@modelgate/core/Events"
import { GatewayConfig, layer as configLayer } from "@modelgate/core/GatewayConfig"
import { layer as registryLayer, ModelRegistry } from "@modelgate/core/ModelRegistry"
import * as ModelStore from "@modelgate/core/ModelStore"
import { Context, Effect, Layer, Stream } from "effect"
import { rawModel } from "./ModelRegistryFixtures.js"

/** A gateway.json setting `server.port` to `n`. */
export const port = (n: number) => JSON.stringify({ server: { port: n } })

/** A models.json of the models `ids`. */
export const models = (...ids: ReadonlyArray<string>) => JSON.stringify({ models: ids.map((id) => rawModel(id)) })

/** `GatewayConfig` watching `directory`; answers the wait until `server.port` is `n`. */
export const watchedConfig = (directory: string) =>
  Effect.map(
    Layer.build(configLayer({ directory, watch: true, debounce: "50 millis" }).pipe(Layer.provide(Events.layer), Layer.provide(NodeContext.layer))),
    (ctx) => {
      const config = Context.get(ctx, GatewayConfig)
      return (n: number) => config.changes.pipe(Stream.filter((c) => c.server.port === n), Stream.runHead, Effect.flatten)
    }
  )

/** `ModelRegistry` watching `file`; answers the wait until the models loaded are `ids`. */
export const watchedRegistry = (file: string) =>
  Effect.map(
    Layer.build(registryLayer({ file, watch: true, debounce: "20 millis" }).pipe(Layer.provide(ModelStore.layerMemory), Layer.provide(NodeContext.layer))),
    (ctx) => {
      const registry = Context.get(ctx, ModelRegistry)
      return (...ids: ReadonlyArray<string>) =>
        registry.changes.pipe(Stream.filter((list) => list.map((m) => m.id).join() === ids.join()), Stream.runHead, Effect.flatten)
    }
  )
