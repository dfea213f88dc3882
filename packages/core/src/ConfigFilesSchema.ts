/**
 * The JSON Schemas of the configuration files, generated from the Schemas
 * (`JSONSchema.make`): `config/schema.json` for `gateway.json` and its
 * overlays, `config/models.schema.json` for `models.json`. Written by
 * `npm run schema`; a test fails when the committed files are stale.
 */
import { ModelsFile } from "@modelgate/domain/Model"
import { JSONSchema } from "effect"
import { GatewayConfigData } from "./GatewayConfigSchema.js"

/** One generated file: its name inside `config/` and its text. */
export interface GeneratedSchema {
  readonly file: string
  readonly content: string
}

const render = (title: string, schema: object): string =>
  `${JSON.stringify({ ...schema, title }, null, 2)}\n`

/** The text of every generated schema file. */
export const generateSchemas = (): ReadonlyArray<GeneratedSchema> => [
  { file: "schema.json", content: render("modelgate gateway.json", JSONSchema.make(GatewayConfigData)) },
  { file: "models.schema.json", content: render("modelgate models.json", JSONSchema.make(ModelsFile)) }
]
