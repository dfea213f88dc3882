/**
 * A `response_format` JSON schema as Anthropic's structured outputs take it
 * (`output_config.format.schema`): every object closed
 * (`additionalProperties: false`, a 400 when left out), and the constraints
 * they refuse with a 400 (`minimum`, `maxLength`, `maxItems`, ...) moved
 * into the description, as Anthropic's SDKs send a schema
 * (`transformJSONSchema`); OpenAI takes both as a client wrote them.
 * https://platform.claude.com/docs/en/build-with-claude/structured-outputs
 */
import type { Unsupported } from "@modelgate/core/Provider"
import type { ChatRequest } from "@modelgate/domain/Chat"

type Schema = Readonly<Record<string, unknown>>

const isSchema = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value)

/** The string formats structured outputs take; another stays in the description. */
const stringFormats: ReadonlySet<string> = new Set(["date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"])

const typesOf = (schema: Schema): ReadonlyArray<unknown> => (Array.isArray(schema["type"]) ? schema["type"] : [schema["type"]])

const mapValues = (value: unknown, f: (schema: unknown) => unknown): unknown =>
  isSchema(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, f(v)])) : value

const each = (value: unknown, f: (schema: unknown) => unknown): unknown => (Array.isArray(value) ? value.map(f) : value)

/** What a schema node keeps as is (anything else but `$schema` is written into its description). */
const kept: ReadonlySet<string> = new Set(["type", "description", "title", "const", "enum", "required"])

const closed = (node: unknown): unknown => {
  if (!isSchema(node)) return node
  // A reference takes no sibling keywords.
  if (node["$ref"] !== undefined) return { $ref: node["$ref"] }
  const out: Record<string, unknown> = {}
  const rest: Record<string, unknown> = {}
  const types = typesOf(node)
  for (const [key, value] of Object.entries(node)) {
    if (value === undefined || key === "$schema") continue
    if (kept.has(key)) out[key] = value
    else if (key === "$defs" || key === "definitions" || key === "properties") out[key] = mapValues(value, closed)
    else if (key === "anyOf" || key === "oneOf") out["anyOf"] = each(value, closed)
    else if (key === "allOf") out[key] = each(value, closed)
    else if (key === "items" && types.includes("array")) out[key] = closed(value)
    else if (key === "minItems" && (value === 0 || value === 1)) out[key] = value
    else if (key === "format" && types.includes("string") && stringFormats.has(value as string)) out[key] = value
    else if (key !== "additionalProperties" || !types.includes("object")) rest[key] = value
  }
  if (types.includes("object")) {
    out["properties"] ??= {}
    out["additionalProperties"] = false
  }
  const moved = Object.entries(rest)
  if (moved.length > 0) {
    const note = `{${moved.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")}}`
    out["description"] = typeof out["description"] === "string" ? `${out["description"]}\n\n${note}` : note
  }
  return out
}

/** `schema` as structured outputs take it (see the module's doc); a new object, `schema` untouched. */
export const forStructuredOutput = (schema: Schema): Schema => closed(schema) as Schema

const hasProperties = (node: Schema): boolean => isSchema(node["properties"]) && Object.keys(node["properties"]).length > 0

/**
 * Whether a schema has an object open to other keys: `additionalProperties`
 * true or a schema (a map), or an object that names no properties and does
 * not close itself (any object).
 */
const hasOpenObject = (node: unknown): boolean => {
  if (Array.isArray(node)) return node.some(hasOpenObject)
  if (!isSchema(node)) return false
  const extra = node["additionalProperties"]
  if (extra !== undefined && extra !== false) return true
  if (extra === undefined && typesOf(node).includes("object") && !hasProperties(node)) return true
  return ["properties", "$defs", "definitions"].some((key) => isSchema(node[key]) && Object.values(node[key]).some(hasOpenObject)) ||
    ["items", "prefixItems", "anyOf", "oneOf", "allOf"].some((key) => hasOpenObject(node[key]))
}

/**
 * A JSON schema with an object open to other keys (`additionalProperties`
 * true or a schema, as a record or map type writes it, or an object with
 * no properties that does not close itself): structured outputs
 * take closed objects only, and closing it would leave the model only `{}`
 * to answer there.
 */
export const openJsonObject = (provider: string, request: ChatRequest): Unsupported | undefined => {
  const format = request.response_format
  if (format?.type !== "json_schema" || !hasOpenObject(format.json_schema.schema)) return undefined
  return {
    param: "response_format",
    reason: `${provider} takes JSON schemas whose objects are closed (additionalProperties false); the schema has an object open to other keys`
  }
}
