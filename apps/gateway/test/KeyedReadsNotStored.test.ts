/**
 * What a key reads (the costs, budgets, health, metrics and models the
 * dashboard shows) is answered with `Cache-Control: no-store`: a browser
 * keeps none of it in its disk cache, where it would outlive the tab and
 * the key (the dashboard's session), nor may a proxy keep it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { bearer, call, master, serveOverFakes } from "./support/VkStack.js"

describe("reads behind a key", () => {
  it.scoped("answer with cache-control no-store; the page keeps its own", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({})
      for (const path of ["/admin/costs?by=model", "/admin/budgets", "/admin/health", "/admin/models", "/admin/keys", "/v1/metrics", "/v1/models"]) {
        const reply = yield* call(url, path, { headers: bearer(master) })
        expect(reply.status, path).toBe(200)
        expect(reply.headers.get("cache-control"), path).toBe("no-store")
      }
      // The page needs no key and keeps its own header (revalidated, holding no data).
      expect((yield* call(url, "/dashboard")).headers.get("cache-control")).toBe("no-cache")
    }))
})
