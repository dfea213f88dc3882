/**
 * A user who installs one package (`@modelgate/node`) gets what its built
 * modules and declarations import: every package they name is one of its own
 * `dependencies`, not one that happens to be hoisted beside it in this
 * workspace (DESIGN.md: each package's `package.json` names exactly what it
 * may import). Reads `dist` after the build (`npm test` runs `tsc -b` first).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import { isBuiltin } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const packages = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** The package a bare specifier names (`@effect/sql/SqlClient` -> `@effect/sql`); undefined for a relative path or a Node built-in. */
const packageOf = (specifier: string): string | undefined => {
  if (specifier.startsWith(".") || specifier.startsWith("/") || isBuiltin(specifier)) return undefined
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}

/** The packages imported by the built modules and declarations in `dir` (import types included), with a file that imports each. */
const importedBy = (dir: string): ReadonlyMap<string, string> => {
  const found = new Map<string, string>()
  for (const file of fs.readdirSync(dir, { recursive: true }) as Array<string>) {
    if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue
    for (const { fileName } of ts.preProcessFile(fs.readFileSync(path.join(dir, file), "utf8"), true, true).importedFiles) {
      const name = packageOf(fileName)
      if (name !== undefined && !found.has(name)) found.set(name, file)
    }
  }
  return found
}

describe("package dependencies", () => {
  it("a specifier names its package; built-ins and relative paths name none", () => {
    assert.strictEqual(packageOf("@effect/sql-sqlite-node/SqliteClient"), "@effect/sql-sqlite-node")
    assert.strictEqual(packageOf("effect"), "effect")
    assert.strictEqual(packageOf("undici/types"), "undici")
    for (const none of ["net", "node:fs", "./x.js", "../y.js"]) assert.isUndefined(packageOf(none))
  })

  for (const name of ["domain", "core", "providers", "sql", "node", "testkit"]) {
    it(`@modelgate/${name} depends on every package its built modules and declarations import`, () => {
      const manifest = JSON.parse(fs.readFileSync(path.join(packages, name, "package.json"), "utf8")) as {
        readonly name: string
        readonly dependencies?: Record<string, string>
        readonly peerDependencies?: Record<string, string>
      }
      const declared = new Set([manifest.name, ...Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })])
      const imported = importedBy(path.join(packages, name, "dist"))
      assert.isTrue(imported.has("effect"), "the scan finds the imports")
      const missing = [...imported].filter(([pkg]) => !declared.has(pkg)).map(([pkg, file]) => `${pkg} (dist/${file})`)
      assert.deepStrictEqual(missing, [], `imported by @modelgate/${name} but not among its dependencies`)
    })
  }
})
