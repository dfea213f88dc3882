/**
 * The layers as a user composing them sees their types (checked by `tsc -b`):
 * every exported layer names what it needs and provides, with no `any` or
 * `unknown` and no `Scope` left to the caller; `GatewayLive` needs nothing
 * and fails only with the errors its doc names. (Its replacements:
 * `GatewayLiveSwapLayers.test.ts`.)
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Core from "@modelgate/core"
import { Events } from "@modelgate/core/Events"
import { Gateway } from "@modelgate/core/Gateway"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { Providers } from "@modelgate/core/Provider"
import type { ConfigError, StoreError } from "@modelgate/domain/Errors"
import * as Node from "@modelgate/node"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as Providers_ from "@modelgate/providers"
import * as Sql from "@modelgate/sql"
import * as Testkit from "@modelgate/testkit"
import { Effect, Layer, type Scope } from "effect"

type IsAny<T> = 0 extends 1 & T ? true : false
/** `unknown` or `any`: a type that says nothing. */
type IsOpaque<T> = IsAny<T> extends true ? true : unknown extends T ? true : false

/** The problems of a layer's type: an opaque output, error or requirement, or a `Scope` left to the caller. */
type LayerProblems<L> = L extends Layer.Layer<infer ROut, infer E, infer RIn> ?
    | (IsOpaque<ROut> extends true ? "output is any/unknown" : never)
    | (IsOpaque<E> extends true ? "error is any/unknown" : never)
    | (IsOpaque<RIn> extends true ? "requirements are any/unknown" : [Extract<RIn, Scope.Scope>] extends [never] ? never : "Scope in requirements")
  : never

/** A layer export itself, or what an exported layer constructor returns (`layerWith(...)`, `Sqlite.layer(file)`). */
type LayerOf<X> = X extends Layer.Layer<infer _A, infer _E, infer _R> ? X
  : X extends (...args: ReadonlyArray<never>) => infer Out ? Out extends Layer.Layer<infer _A, infer _E, infer _R> ? Out : never
  : never

/** `module.export: problem` for every exported layer (or layer constructor) of a barrel with a problem. */
type LayerProblemsInBarrel<Barrel> = {
  [M in keyof Barrel & string]: {
    [E in keyof Barrel[M] & string]: `${M}.${E}: ${LayerProblems<LayerOf<Barrel[M][E]>> & string}`
  }[keyof Barrel[M] & string]
}[keyof Barrel & string]

/** `module.export` for every exported layer or layer constructor of a barrel. */
type LayersInBarrel<Barrel> = {
  [M in keyof Barrel & string]: { [E in keyof Barrel[M] & string]: [LayerOf<Barrel[M][E]>] extends [never] ? never : `${M}.${E}` }[
    keyof Barrel[M] & string
  ]
}[keyof Barrel & string]

describe("layer types", () => {
  it("the check names a layer with an opaque type or a Scope left to the caller", () => {
    interface Example {
      readonly scoped: Layer.Layer<Events, never, Scope.Scope | GatewayConfig>
      readonly opaqueError: Layer.Layer<Events, unknown>
      readonly anyNeeds: (x: number) => Layer.Layer<Events, never, any>
      readonly fine: Layer.Layer<Events, StoreError, GatewayConfig>
      readonly notALayer: number
    }
    expectTypeOf<LayerProblemsInBarrel<{ M: Example }>>().toEqualTypeOf<
      "M.scoped: Scope in requirements" | "M.opaqueError: error is any/unknown" | "M.anyNeeds: requirements are any/unknown"
    >()
    expectTypeOf<LayersInBarrel<{ M: Example }>>().toEqualTypeOf<"M.scoped" | "M.opaqueError" | "M.anyNeeds" | "M.fine">()
  })

  it("no exported layer of core, sql, node or testkit has an opaque type or leaves a Scope", () => {
    expectTypeOf<LayerProblemsInBarrel<typeof Core>>().toEqualTypeOf<never>()
    expectTypeOf<LayerProblemsInBarrel<typeof Sql>>().toEqualTypeOf<never>()
    expectTypeOf<LayerProblemsInBarrel<typeof Node>>().toEqualTypeOf<never>()
    expectTypeOf<LayerProblemsInBarrel<typeof Providers_>>().toEqualTypeOf<never>()
    expectTypeOf<LayerProblemsInBarrel<typeof Testkit>>().toEqualTypeOf<never>()
    // The check sees the layers (a sample of each package).
    expectTypeOf<"Gateway.layer" | "RateLimiter.layer" | "GatewayConfig.layerConfig">().toExtend<LayersInBarrel<typeof Core>>()
    expectTypeOf<"Sqlite.layer" | "RecordStoreSql.layerAccounting">().toExtend<LayersInBarrel<typeof Sql>>()
    expectTypeOf<"GatewayLive.layer" | "GatewayLive.layerWith" | "ProvidersLive.layer">().toExtend<LayersInBarrel<typeof Node>>()
  })

  it("GatewayLive.layer needs nothing and fails only with ConfigError or StoreError", () => {
    expectTypeOf<Layer.Layer.Context<typeof GatewayLive.layer>>().toEqualTypeOf<never>()
    expectTypeOf<Layer.Layer.Error<typeof GatewayLive.layer>>().toEqualTypeOf<ConfigError | StoreError>()
    expectTypeOf<Core.Gateway.Gateway | Core.ModelRegistry.ModelRegistry | Events | GatewayConfig | Providers>().toExtend<
      Layer.Layer.Success<typeof GatewayLive.layer>
    >()
    const program = Effect.map(Gateway, (gateway) => gateway.complete)
    expectTypeOf(program.pipe(Effect.provide(GatewayLive.layer))).toEqualTypeOf<
      Effect.Effect<Core.Gateway.Gateway["Type"]["complete"], ConfigError | StoreError>
    >()
    assert.isTrue(Layer.isLayer(GatewayLive.layer))
  })
})
