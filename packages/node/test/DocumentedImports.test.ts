/**
 * Every module path the READMEs and the packages' doc comments tell a user to
 * import (`@modelgate/node`, `@modelgate/core/Gateway`, ...) resolves, through
 * its package's `exports` map, to a built module with its declarations, and
 * every export they name on it ("`@modelgate/core/CacheStore`'s
 * `layerMemory`") is declared there. Runs after the build (`npm test` runs
 * `tsc -b` first): it reads `dist`, as an installed package would be read.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const packageNames = ["domain", "core", "providers", "sql", "node", "testkit"]

/** One documented use of a module: where it is said, the specifier, and the export named on it (if any). */
interface Mention {
  readonly where: string
  readonly specifier: string
  readonly name: string | undefined
}

/** The doc comments (`/** ... *\/`) of a source file. */
const docComments = (source: string): string => [...source.matchAll(/\/\*\*[\s\S]*?\*\//g)].map((m) => m[0]).join("\n")

/** The documented mentions of `@modelgate/...` modules in `text`: imports, backticked paths, and "`path`'s `name`" / "`name(...)` from `path`". */
const mentionsIn = (where: string, text: string): ReadonlyArray<Mention> => {
  const found: Array<Mention> = []
  for (const m of text.matchAll(/["`](@modelgate\/[a-z]+(?:\/[A-Za-z0-9/]+)?)["`](?:'s `([A-Za-z0-9_]+)`)?/g)) {
    found.push({ where, specifier: m[1]!, name: m[2] })
  }
  for (const m of text.matchAll(/`([A-Za-z0-9_]+)\([^`]*\)` from `(@modelgate\/[a-z]+(?:\/[A-Za-z0-9/]+)?)`/g)) {
    found.push({ where, specifier: m[2]!, name: m[1] })
  }
  return found
}

/** Every mention in the READMEs (root, config, each package) and in the doc comments of the packages' sources. */
const documented = (): ReadonlyArray<Mention> => {
  const readmes = ["README.md", "config/README.md", ...packageNames.map((name) => `packages/${name}/README.md`)].filter((file) =>
    fs.existsSync(path.join(root, file))
  )
  const sources = packageNames.flatMap((name) =>
    (fs.readdirSync(path.join(root, "packages", name, "src"), { recursive: true }) as Array<string>)
      .filter((file) => file.endsWith(".ts"))
      .map((file) => `packages/${name}/src/${file.split(path.sep).join("/")}`)
  )
  return [
    ...readmes.flatMap((file) => mentionsIn(file, fs.readFileSync(path.join(root, file), "utf8"))),
    ...sources.flatMap((file) => mentionsIn(file, docComments(fs.readFileSync(path.join(root, file), "utf8"))))
  ]
}

type Conditions = { readonly types?: string; readonly default?: string }

/**
 * The files `specifier`'s package maps it to through its `exports` (an exact
 * subpath, or a `./*` pattern), relative to the repository; undefined when no
 * entry matches.
 */
const exported = (specifier: string): Conditions | undefined => {
  const [, name, rest] = /^@modelgate\/([a-z]+)(\/.*)?$/.exec(specifier)!
  const dir = `packages/${name}`
  const manifest = path.join(root, dir, "package.json")
  if (!fs.existsSync(manifest)) return undefined
  const exports = (JSON.parse(fs.readFileSync(manifest, "utf8")) as { exports?: Record<string, Conditions> }).exports ?? {}
  const subpath = `.${rest ?? ""}`
  const at = (target: Conditions, star: string): Conditions => ({
    ...(target.types !== undefined ? { types: path.posix.join(dir, target.types.replace("*", star)) } : {}),
    ...(target.default !== undefined ? { default: path.posix.join(dir, target.default.replace("*", star)) } : {})
  })
  if (exports[subpath] !== undefined) return at(exports[subpath], "")
  for (const [key, target] of Object.entries(exports)) {
    const star = key.indexOf("*")
    if (star < 0) continue
    const [before, after] = [key.slice(0, star), key.slice(star + 1)]
    if (subpath.startsWith(before) && subpath.endsWith(after) && subpath.length > before.length + after.length) {
      return at(target, subpath.slice(before.length, subpath.length - after.length))
    }
  }
  return undefined
}

/** Whether the declarations in `file` export `name`. */
const declares = (file: string, name: string): boolean =>
  new RegExp(`export (?:declare )?(?:const|let|function|class|type|interface|namespace) ${name}\\b|export \\{[^}]*\\b${name}\\b[^}]*\\}`).test(
    fs.readFileSync(path.join(root, file), "utf8")
  )

describe("documented imports", () => {
  it("the scan finds the README's imports and the exports it names", () => {
    const mentions = documented()
    const specifiers = new Set(mentions.map((m) => m.specifier))
    for (const s of ["@modelgate/node", "@modelgate/core/Gateway", "@modelgate/node/GatewayLive", "@modelgate/core/RecordWriter/Memory"]) {
      assert.isTrue(specifiers.has(s), `${s} is among the documented imports`)
    }
    assert.deepInclude(mentions, { where: "README.md", specifier: "@modelgate/core/CacheStore", name: "layerMemory" })
    assert.deepInclude(mentions, { where: "README.md", specifier: "@modelgate/domain/Chat", name: "extraParameters" })
    assert.deepInclude(mentions, { where: "packages/core/src/CacheStore.ts", specifier: "@modelgate/sql/CacheStoreSql", name: undefined })
    assert.isUndefined(exported("@modelgate/nothing/Here"), "an unknown package resolves to nothing")
    assert.isTrue(declares("packages/core/dist/CacheStore.d.ts", "layerMemory"))
    assert.isFalse(declares("packages/core/dist/CacheStore.d.ts", "layerMemor"))
    assert.deepStrictEqual(exported("@modelgate/core/RecordWriter/Memory"), {
      types: "packages/core/dist/RecordWriter/Memory.d.ts",
      default: "packages/core/dist/RecordWriter/Memory.js"
    })
  })

  it("each resolves through its package's exports to a built module with declarations, which declares the names given", () => {
    const require = createRequire(path.join(root, "package.json"))
    const problems = documented().flatMap(({ name, specifier, where }): ReadonlyArray<string> => {
      const target = exported(specifier)
      if (target?.types === undefined || target.default === undefined) return [`${where}: ${specifier} is not in its package's exports (types and default)`]
      const missing = [target.default, target.types].filter((file) => !fs.existsSync(path.join(root, file)))
      if (missing.length > 0) return [`${where}: ${specifier} -> ${missing.join(", ")}, not built`]
      if (fs.realpathSync(require.resolve(specifier)) !== path.join(root, target.default)) return [`${where}: Node resolves ${specifier} elsewhere`]
      return name !== undefined && !declares(target.types, name) ? [`${where}: ${specifier} does not export ${name}`] : []
    })
    assert.deepStrictEqual(problems, [])
  })
})
