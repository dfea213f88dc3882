/**
 * `modelgate config validate` lists every problem "of gateway.json, each
 * overlay, the variables and models.json" (README): a malformed variable is
 * listed whatever else is wrong, and every malformed variable is listed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { runWith, writeConfig } from "./support/RunCli.js"

describe("config validate and environment variables", () => {
  it.effect("lists a malformed PORT and a malformed MODELGATE_LOG_LEVEL together", () =>
    Effect.gen(function* () {
      const dir = writeConfig({ "gateway.json": {}, "models.json": { models: [] } })
      const { err, exit } = yield* runWith({ PORT: "eighty", MODELGATE_LOG_LEVEL: "loud" }, "config", "validate", dir)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(err, "environment variable PORT")
      assert.include(err, "environment variable MODELGATE_LOG_LEVEL")
    }))

  it.effect("lists a malformed variable when gateway.json has problems of its own", () =>
    Effect.gen(function* () {
      const dir = writeConfig({ "gateway.json": { cache: { ttlMs: -1 } }, "models.json": { models: [] } })
      const { err, exit } = yield* runWith({ PORT: "eighty" }, "config", "validate", dir)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(err, "cache.ttlMs")
      assert.include(err, "environment variable PORT")
    }))

  it.effect("lists a malformed OpenTelemetry variable (serve would stop on it), naming it without its value", () =>
    Effect.gen(function* () {
      const dir = writeConfig({ "gateway.json": { cache: { ttlMs: -1 } }, "models.json": { models: [] } })
      const { err, exit } = yield* runWith(
        { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_HEADERS: "x-team=1,s3cret" },
        "config",
        "validate",
        dir
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.include(err, "cache.ttlMs")
      assert.include(err, "environment variable OTEL_EXPORTER_OTLP_HEADERS")
      assert.notInclude(err, "s3cret")
    }))
})
