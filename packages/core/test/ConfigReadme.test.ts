/**
 * config/README.md documents every field of `gateway.json` (as config/schema.json
 * has them), and each default its tables state is the default the Schema gives.
 */
import { assert, describe, it } from "@effect/vitest"
import { defaultConfig } from "@modelgate/core/GatewayConfigSchema"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const configDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../config")
const readme = readFileSync(path.join(configDir, "README.md"), "utf8")

type JsonSchema = {
  readonly $ref?: string
  readonly allOf?: ReadonlyArray<JsonSchema>
  readonly properties?: Record<string, JsonSchema>
  readonly additionalProperties?: JsonSchema | boolean
  readonly items?: JsonSchema
}
const schema = JSON.parse(readFileSync(path.join(configDir, "schema.json"), "utf8")) as JsonSchema & {
  readonly $defs: Record<string, JsonSchema>
}

/** `node` with its `$ref` (and a lone `allOf`) followed. */
const resolve = (node: JsonSchema): JsonSchema =>
  node.$ref !== undefined
    ? resolve(schema.$defs[node.$ref.replace("#/$defs/", "")]!)
    : node.allOf?.length === 1 && node.properties === undefined
    ? resolve(node.allOf[0]!)
    : node

/**
 * The path of every leaf field of the schema (`server.timeouts.headersMs`):
 * a record's entries as `<key>` (`providers.<key>.baseUrl`), its named ones
 * too (`providers.openai`, whose `baseUrl` may be left out), the fields of an
 * array's objects under `[]` (`auth.virtualKeys[].name`).
 */
const fieldPaths = (node: JsonSchema, prefix: string): ReadonlyArray<string> => {
  const at = resolve(node)
  const record = typeof at.additionalProperties === "object"
  const items = at.items !== undefined ? fieldPaths(at.items, `${prefix}[]`) : []
  const own = Object.entries(at.properties ?? {}).flatMap(([name, child]) =>
    fieldPaths(child, record ? `${prefix}.<key>` : prefix === "" ? name : `${prefix}.${name}`)
  )
  const entries = typeof at.additionalProperties === "object" ? fieldPaths(at.additionalProperties, `${prefix}.<key>`) : []
  const inner = [...new Set([...own, ...entries]), ...items]
  return inner.length === 0 ? [prefix.replace(/\[\]$/, "")] : inner
}

/** Whether `p` is named in backticks in the README (`<key>` matching any `<name>`). */
const documented = (p: string): boolean => {
  const pattern = p.split("<key>").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("<[A-Za-z]+>")
  return new RegExp("`" + pattern + "`").test(readme)
}

/** The rows of the README's `| Field | Default | What |` tables: the backticked paths of the first cell, the second cell. */
const defaultRows = (): ReadonlyArray<{ readonly paths: ReadonlyArray<string>; readonly defaults: string }> => {
  const rows: Array<{ paths: ReadonlyArray<string>; defaults: string }> = []
  let inTable = false
  for (const line of readme.split("\n")) {
    if (line.startsWith("| Field | Default |")) inTable = true
    else if (!line.startsWith("|")) inTable = false
    else if (inTable && !line.startsWith("|---")) {
      const [field = "", defaults = ""] = line.split(" | ").map((cell) => cell.replace(/^\| /, ""))
      rows.push({ paths: [...field.matchAll(/`([^`]+)`/g)].map((m) => m[1]!), defaults })
    }
  }
  return rows
}

/** A documented default: `none` (unset), a number, or a backticked JSON value or string. */
const parseDefault = (text: string): unknown => {
  const bare = text.replace(/\([^)]*\)/g, "").trim()
  if (bare === "none") return undefined
  const quoted = /^`(.*)`$/.exec(bare)
  if (quoted === null) return Number(bare)
  try {
    return JSON.parse(quoted[1]!)
  } catch {
    return quoted[1]
  }
}

/** The default of `p` (a dotted path) in the configuration the Schema decodes from `{}`. */
const defaultAt = (p: string): unknown =>
  JSON.parse(JSON.stringify(p.split(".").reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], defaultConfig)) ?? "null") ?? undefined

describe("config/README.md", () => {
  const paths = fieldPaths(schema, "").filter((p) => p !== "$schema")

  it("the schema walk reaches nested, record and array fields", () => {
    for (const p of ["server.timeouts.headersMs", "providers.<key>.maxRetries", "auth.virtualKeys[].rpm", "budgets.perAgentType.<key>.daily", "logLevel"]) {
      assert.include(paths, p)
    }
  })

  it("names every field of gateway.json (config/schema.json) by its full path", () => {
    assert.deepStrictEqual(paths.filter((p) => !documented(p)), [])
  })

  it("states each default as the Schema has it", () => {
    const rows = defaultRows().filter((row) => row.paths.every((p) => !p.includes("<") && !p.includes("[]")))
    assert.isAbove(rows.length, 40, "the tables are found")
    for (const { defaults, paths } of rows) {
      const values = defaults.replace(/\([^)]*\)/g, "").split(/, (?![^[]*\])/)
      // one default for the row's every field, or one per field
      if (values.length !== 1) assert.strictEqual(values.length, paths.length, `one default per field in the row of ${paths.join(", ")}`)
      paths.forEach((p, i) => assert.deepStrictEqual(parseDefault(values[values.length === 1 ? 0 : i]!), defaultAt(p), `the default of ${p}`))
    }
  })
})
