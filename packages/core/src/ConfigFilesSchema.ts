/**
 * The JSON Schemas of the configuration files, generated from the Schemas
 * (`JSONSchema.make`): `config/schema.json` for `gateway.json` and its
 * overlays, `config/models.schema.json` for `models.json`. Written by
 * `npm run schema`; a test fails when the committed files are stale.
 */
import { ModelsFile } from "@modelgate/domain/Model"
import { JSONSchema } from "effect"
import { defaultProviders, GatewayConfigData } from "./GatewayConfigSchema.js"

/** One generated file: its name inside `config/` and its text. */
export interface GeneratedSchema {
  readonly file: string
  readonly content: string
}

const render = (title: string, schema: object): string =>
  `${JSON.stringify({ ...schema, title }, null, 2)}\n`

type JsonObject = Record<string, unknown>

/**
 * `gateway.json`'s schema, with the default providers' entries named: each
 * may leave out its `baseUrl` (a file is read over the defaults), where an
 * entry of another name needs one.
 */
const gatewaySchema = (): JsonObject => {
  const schema = JSONSchema.make(GatewayConfigData) as unknown as { $defs: JsonObject; properties: { providers: JsonObject } }
  const providers = schema.properties.providers
  const entry = providers.additionalProperties as JsonObject
  const named = { $ref: "#/$defs/DefaultProviderEntry" }
  return {
    ...schema,
    $defs: { ...schema.$defs, DefaultProviderEntry: { ...entry, required: [] } },
    properties: {
      ...schema.properties,
      providers: { ...providers, properties: Object.fromEntries(Object.keys(defaultProviders).map((name) => [name, named])) }
    }
  }
}

/** The text of every generated schema file. */
export const generateSchemas = (): ReadonlyArray<GeneratedSchema> => [
  { file: "schema.json", content: render("modelgate gateway.json", gatewaySchema()) },
  { file: "models.schema.json", content: render("modelgate models.json", JSONSchema.make(ModelsFile)) }
]
