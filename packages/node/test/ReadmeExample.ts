/**
 * The library example of the README, compiled and run by Readme.test.ts.
 */
import { Gateway } from "@modelgate/core/Gateway"
import { type Provider, Providers } from "@modelgate/core/Provider"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { Effect, Layer } from "effect"

/** Ask the gateway for the cheapest model that can chat. */
export const program = Effect.gen(function* () {
  const gateway = yield* Gateway
  const { response, meta } = yield* gateway.complete(
    { model: "auto", messages: [{ role: "user", content: "Hello" }] },
    { capabilities: ["chat"], priority: "LOW" }
  )
  yield* Effect.log(`${meta.model} answered for $${meta.costUsd}: ${response.choices[0].message.content}`)
  return { response, meta }
})

/** The same program with the provider adapters replaced by doubles. */
export const withDoubles = (doubles: ReadonlyArray<Provider>, configDirectory?: string) =>
  program.pipe(
    Effect.provide(
      GatewayLive.layerWith({
        configDirectory,
        watch: false,
        providers: Layer.succeed(Providers, Providers.fromList(doubles))
      })
    )
  )
