/**
 * A user outside the workspace installs the packages from `npm pack`
 * tarballs: each tarball must hold what its `exports` map points at (the
 * compiled `dist`, JavaScript and declarations), else every documented
 * import (`@modelgate/core/Gateway`, `@modelgate/node/GatewayLive`, ...)
 * fails to resolve. Checked with `npm pack --dry-run` on the built packages.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const packages = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** The files `npm pack` would put in the package's tarball. */
const packed = (dir: string): ReadonlySet<string> => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: dir, encoding: "utf8" })
  const [result] = JSON.parse(out) as ReadonlyArray<{ readonly files: ReadonlyArray<{ readonly path: string }> }>
  return new Set(result!.files.map((f) => f.path))
}

/** Every built module of `dist` (what the `./*` export serves), relative to the package. */
const built = (dir: string): ReadonlyArray<string> =>
  (fs.readdirSync(path.join(dir, "dist"), { recursive: true }) as Array<string>)
    .filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"))
    .map((f) => `dist/${f.split(path.sep).join("/")}`)

describe("npm pack tarballs", () => {
  for (const name of ["domain", "core", "providers", "sql", "node", "testkit"]) {
    it(`@modelgate/${name} packs its built modules and the targets of its exports`, () => {
      const dir = path.join(packages, name)
      const files = packed(dir)
      assert.isTrue(files.has("dist/index.js"), "dist/index.js (the '.' export) is packed")
      assert.isTrue(files.has("dist/index.d.ts"), "dist/index.d.ts (the '.' export's types) is packed")
      assert.deepStrictEqual(built(dir).filter((f) => !files.has(f)), [], "every built module is packed")
    }, 60_000)
  }
})
