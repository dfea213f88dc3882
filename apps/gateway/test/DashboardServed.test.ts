/**
 * `GET /dashboard` serves the page and every module it loads, without a key
 * and with headers that keep it from running anything but its own files;
 * nothing else under `/dashboard` is served, and `server.dashboard: false`
 * turns it off.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { call, master, serveOverFakes } from "./support/VkStack.js"

/** Every path the page loads: its script and stylesheet, then each module's relative imports, followed. */
const moduleGraph = (url: string) =>
  Effect.gen(function* () {
    const page = yield* call(url, "/dashboard")
    const entry = [...page.text.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]!)
    const seen = new Map<string, number>()
    const queue = [...entry]
    while (queue.length > 0) {
      const path = queue.shift()!
      if (seen.has(path)) continue
      const reply = yield* call(url, path)
      seen.set(path, reply.status)
      if (!path.endsWith(".js")) continue
      for (const m of reply.text.matchAll(/(?:from|import)\s*["']\.\/([^"']+)["']/g)) queue.push(`/dashboard/${m[1]}`)
    }
    return { page, entry, seen }
  })

describe("GET /dashboard", () => {
  it.scoped("serves the page and every module it imports, without a key, as text/html and text/javascript", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({})
      const { entry, page, seen } = yield* moduleGraph(url)
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(entry).toEqual(["/dashboard/style.css", "/dashboard/main.js"])
      // main.js and what it imports, transitively: the page's whole program.
      expect([...seen.keys()]).toEqual(expect.arrayContaining(["/dashboard/main.js", "/dashboard/Dashboard.js", "/dashboard/Api.js", "/dashboard/Sse.js"]))
      expect([...seen.values()].every((status) => status === 200)).toBe(true)
      const script = yield* call(url, "/dashboard/main.js")
      expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
      const style = yield* call(url, "/dashboard/style.css")
      expect(style.headers.get("content-type")).toBe("text/css; charset=utf-8")
      // `/dashboard/` is the page too.
      expect((yield* call(url, "/dashboard/")).text).toBe(page.text)
      // The data stays behind the key: serving the page opened nothing.
      expect((yield* call(url, "/admin/costs")).status).toBe(401)
    }))

  it.scoped("forbids inline code, other origins and framing, and is revalidated on each load", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({})
      for (const path of ["/dashboard", "/dashboard/main.js"]) {
        const reply = yield* call(url, path)
        const csp = reply.headers.get("content-security-policy") ?? ""
        expect(csp).toContain("default-src 'none'")
        expect(csp).toContain("script-src 'self'")
        expect(csp).toContain("connect-src 'self'")
        expect(csp).toContain("frame-ancestors 'none'")
        expect(csp).not.toContain("unsafe-inline")
        expect(reply.headers.get("x-content-type-options")).toBe("nosniff")
        expect(reply.headers.get("cache-control")).toBe("no-cache")
      }
    }))

  it.scoped("answers 404 naming the file for anything but the page's files (no source maps, declarations or paths out)", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({})
      for (const path of ["/dashboard/nope.js", "/dashboard/main.js.map", "/dashboard/Api.d.ts", "/dashboard/..%2fpackage.json"]) {
        const reply = yield* call(url, path)
        expect(reply.status, path).toBe(404)
        expect(reply.json.error.message, path).toContain("no dashboard file")
      }
      // fetch takes `%2e%2e` for `..`: the path asked is /package.json, which no route serves.
      expect((yield* call(url, "/dashboard/%2e%2e/package.json")).status).toBe(404)
      expect((yield* call(url, "/dashboard", { method: "POST", body: {} })).status).toBe(405)
    }))

  it.scoped("is a 404 with server.dashboard false", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ server: { dashboard: false } })
      expect((yield* call(url, "/dashboard")).status).toBe(404)
      expect((yield* call(url, "/dashboard/main.js")).status).toBe(404)
      // The API is as it was.
      expect((yield* call(url, "/admin/health", { headers: { authorization: `Bearer ${master}` } })).status).toBe(200)
    }))
})
