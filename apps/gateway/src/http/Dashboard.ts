/**
 * `GET /dashboard`: the dashboard page and its files, read from disk once when
 * the app is built and served from memory. The page holds no data: it reads
 * the JSON API with the key its user types, so serving it needs no key.
 */
import { FileSystem, HttpServerResponse } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { ApiError } from "./ApiError.js"

/** One file of the dashboard, ready to send. */
interface Asset {
  readonly body: Uint8Array
  readonly contentType: string
}

/** The page's own files (beside the built modules, `dist/dashboard/*.js`). */
const pageFiles: ReadonlyArray<readonly [name: string, contentType: string]> = [
  ["index.html", "text/html; charset=utf-8"],
  ["style.css", "text/css; charset=utf-8"]
]

/**
 * Scripts, styles and API calls from the gateway itself only; no inline code,
 * no framing, no forms sent anywhere.
 */
const securityHeaders: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache"
}

/** Where the dashboard's files are: `apps/gateway/dashboard` (the page) and `apps/gateway/dist/dashboard` (its modules). */
export const directories = (() => {
  // This module is `src/http/Dashboard.ts` in tests and `dist/http/Dashboard.js` when built: the package is two up.
  const root = fileURLToPath(new URL("../../", import.meta.url))
  return { page: `${root}dashboard`, modules: `${root}dist/dashboard` }
})()

const notBuilt = (missing: string) =>
  new ApiError({
    status: 503,
    type: "service_unavailable",
    code: "dashboard_not_built",
    message: `the dashboard is not built: ${missing} is missing (run npm run build)`
  })

const notFound = (path: string) =>
  new ApiError({ status: 404, type: "invalid_request_error", code: "not_found", message: `no dashboard file ${JSON.stringify(path)}` })

/** Read the page and every built module into memory: file name to asset; the first missing file named. */
const load = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const assets = new Map<string, Asset>()
  for (const [name, contentType] of pageFiles) {
    assets.set(name, { body: yield* fs.readFile(`${directories.page}/${name}`), contentType })
  }
  const modules = (yield* fs.readDirectory(directories.modules)).filter((name) => name.endsWith(".js"))
  if (!modules.includes("main.js")) return yield* Effect.fail(`${directories.modules}/main.js`)
  for (const name of modules) {
    assets.set(name, { body: yield* fs.readFile(`${directories.modules}/${name}`), contentType: "text/javascript; charset=utf-8" })
  }
  return assets
}).pipe(
  // What was missing or unreadable: the path when the platform names it.
  Effect.mapError((error) =>
    typeof error === "string" ? error : error._tag === "SystemError" && error.pathOrDescriptor !== undefined ? String(error.pathOrDescriptor) : error.message
  ),
  Effect.provide(NodeFileSystem.layer)
)

/** The dashboard's handler: `path` is the request's path after `/dashboard`. */
export type Handler = (path: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError>

/**
 * Load the dashboard's files once; when some are missing (the dashboard was
 * not built), log it once and answer 503 naming the file.
 */
export const make: Effect.Effect<Handler> = Effect.gen(function* () {
  const loaded = yield* Effect.either(load)
  if (loaded._tag === "Left") {
    const missing = loaded.left
    yield* Effect.logWarning(`the dashboard is not built: ${missing} is missing; GET /dashboard answers 503 (run npm run build)`)
    return () => Effect.fail(notBuilt(missing))
  }
  const assets = loaded.right
  return (path) => {
    const name = path === "" || path === "/" ? "index.html" : path.slice(1)
    const asset = assets.get(name)
    if (asset === undefined) return Effect.fail(notFound(path))
    return Effect.succeed(HttpServerResponse.uint8Array(asset.body, { contentType: asset.contentType, headers: securityHeaders }))
  }
})

/** The path after `/dashboard` of a request's url, without its query. */
export const pathOf = (url: string): string => url.split("?", 1)[0]!.slice("/dashboard".length)
