/**
 * The memory rate limiter with a switch per model, for requests that reach a
 * model the ranking found room on and then get no call of it: its
 * reservation refused (room taken by a concurrent request after the ranking,
 * or on another instance), or slow (a remote store), so that the client can
 * leave before the call.
 */
import { RateLimitExceeded } from "@modelgate/domain/Errors"
import { Effect, Layer } from "effect"
import * as RateLimiter from "../src/RateLimiter.js"

/** What the limiter does with a reservation for a model: as usual, refuse it, or take a second first. */
export type Reservations = Map<string, "refuse" | "slow">

/** `RateLimiter.layerMemory`, but each model's reservations as `reservations` says at the time of each. */
export const refusingLimiter = (reservations: Reservations) =>
  Layer.effect(
    RateLimiter.RateLimiter,
    Effect.map(RateLimiter.RateLimiter, (inner) => {
      const gate = (model: string) => {
        const mode = reservations.get(model)
        return mode === "refuse"
          ? Effect.fail(new RateLimitExceeded({ model, dimension: "requests", retryAfterMs: 1_000 }))
          : mode === "slow"
          ? Effect.sleep("1 second")
          : undefined
      }
      return RateLimiter.RateLimiter.of({
        ...inner,
        reserve: (model, tokens, keyId) => {
          const g = gate(model.id)
          return g === undefined ? inner.reserve(model, tokens, keyId) : Effect.zipRight(g, inner.reserve(model, tokens, keyId))
        },
        reserveAt: (config, now, model, tokens, keyId) => {
          const g = gate(model.id)
          return g === undefined ? inner.reserveAt!(config, now, model, tokens, keyId) : Effect.zipRight(g, inner.reserve(model, tokens, keyId))
        }
      })
    })
  ).pipe(Layer.provide(RateLimiter.layerMemory))
