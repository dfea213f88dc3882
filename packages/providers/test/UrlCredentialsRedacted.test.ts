/**
 * A provider base URL may carry credentials (`http://user:pass@proxy/v1`,
 * a corporate proxy's basic auth). An unreachable provider's error quotes the
 * URL it called, and that error reaches the gateway's log, its 503/502
 * answers to every client and `/ready`: the password must not be in it.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { HttpClientRequest } from "@effect/platform"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { genericError, makeProviderHttp, standardRetryAfter } from "../src/internal/index.js"
import { unusedPort } from "./internal/fixtures.js"

const info = { model: "m", keyId: undefined, secrets: [] }

describe("Credentials in a provider URL", () => {
  it.scopedLive("an unreachable provider's error does not quote the URL's password", () =>
    Effect.gen(function*() {
      const port = yield* unusedPort
      const baseUrl = `http://proxyuser:Pr0xyS3cretPass@127.0.0.1:${port}/v1`
      const http = yield* makeProviderHttp({
        provider: "toy",
        getConfig: Effect.succeed(ProviderConfig.make({ baseUrl, maxRetries: 0 })),
        requestId: () => undefined,
        rateLimit: () => undefined,
        classify: (ctx) => genericError(ctx, ctx.excerpt, standardRetryAfter(ctx.headers, ctx.nowMs))
      })
      const error = yield* Effect.flip(http.call(info, HttpClientRequest.get(`${baseUrl}/models`), () => Effect.void))
      assert.strictEqual(error._tag, "Transport")
      assert.include(error.message, "ECONNREFUSED")
      assert.notInclude(error.message, "Pr0xyS3cretPass")
      assert.notInclude(JSON.stringify(error), "Pr0xyS3cretPass")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
