/**
 * Model ids the gateway configuration names outside the registry: the keys of
 * `budgets.perModel` and each virtual key's `models`. `modelgate config
 * validate` reports one `models.json` lacks as a problem (most likely a typo);
 * at run time it is a warning only (`CostTracker/UnknownModels.ts`, and the
 * gateway's auth for virtual keys).
 */
import { formatPath } from "../ConfigFiles.js"
import { isPlainObject } from "./Merge.js"

/** A model id named in the configuration that is not among the known ids. */
export interface UnknownModelReference {
  /** Where it is named, as keys (`["budgets", "perModel", "gpt-4o-mni"]`). */
  readonly keys: ReadonlyArray<string | number>
  /** The same as a path: `budgets.perModel["gpt-4o-mni"]`. */
  readonly path: string
  readonly id: string
}

const reference = (keys: ReadonlyArray<string | number>, id: string): UnknownModelReference => ({ keys, path: formatPath(keys), id })

const field = (value: unknown, key: string): unknown => (isPlainObject(value) ? value[key] : undefined)
const keysOf = (value: unknown): ReadonlyArray<string> => (isPlainObject(value) ? Object.keys(value) : [])
const items = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : [])

/**
 * The budgets' model ids not in `ids`. `config` is a decoded configuration or
 * the JSON of a file (what is not shaped as expected is skipped: the schema
 * reports it).
 */
export const unknownBudgetModels = (config: unknown, ids: ReadonlySet<string>): ReadonlyArray<UnknownModelReference> =>
  keysOf(field(field(config, "budgets"), "perModel")).filter((id) => !ids.has(id)).map((id) => reference(["budgets", "perModel", id], id))

/** Every model id `config` (as for `unknownBudgetModels`) names that is not in `ids`: budgets, then virtual keys. */
export const unknownModelReferences = (config: unknown, ids: ReadonlySet<string>): ReadonlyArray<UnknownModelReference> => [
  ...unknownBudgetModels(config, ids),
  ...items(field(field(config, "auth"), "virtualKeys")).flatMap((key, i) =>
    items(field(key, "models")).flatMap((id, j) =>
      typeof id === "string" && !ids.has(id) ? [reference(["auth", "virtualKeys", i, "models", j], id)] : []
    )
  )
]
