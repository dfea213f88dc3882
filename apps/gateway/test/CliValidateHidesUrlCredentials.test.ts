/**
 * A provider's base URL may carry credentials (a proxy's `https://user:token@host`).
 * When the URL is refused (here a trailing space, as a `.env` line may leave),
 * `modelgate config validate` names the variable and the problem without
 * printing the credentials, as transport errors already do.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { runWith, writeConfig } from "./support/RunCli.js"

describe("config validate and a base URL with credentials", () => {
  it.effect("the refused URL is shown without its user and password", () =>
    Effect.gen(function* () {
      const dir = writeConfig({ "gateway.json": { providers: { anthropic: { baseUrl: " https://team:gw-tok-anthropic@proxy.internal" } } }, "models.json": { models: [] } })
      const { err, exit } = yield* runWith({ OPENAI_BASE_URL: "https://team:gw-tok-openai@proxy.internal/v1 " }, "config", "validate", dir)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(err, "environment variable OPENAI_BASE_URL at providers.openai.baseUrl")
      assert.include(err, "providers.anthropic.baseUrl")
      assert.include(err, "https://[redacted]@proxy.internal/v1", "the rest of the URL says which one")
      assert.notInclude(err, "gw-tok")
    }))
})
