/**
 * Reading provider keys from `Config`: `<NAME>`, then `<NAME>_1`, `<NAME>_2`,
 * ... up to the first missing number. Values are `Redacted` from the moment
 * they are read; values are trimmed, empty ones skipped, duplicates kept once.
 */
import { Config, Effect, Option, Redacted } from "effect"
import type { ProviderKey } from "../Provider.js"

/** Where one provider's keys come from. */
export interface KeySource {
  readonly provider: string
  /** Variable names, each also read with `_1`, `_2`, ... suffixes. */
  readonly variables: ReadonlyArray<string>
}

/** OpenAI, Anthropic and Google (Gemini) keys. Ollama needs none. */
export const defaultSources: ReadonlyArray<KeySource> = [
  { provider: "openai", variables: ["OPENAI_API_KEY"] },
  { provider: "anthropic", variables: ["ANTHROPIC_API_KEY"] },
  { provider: "google", variables: ["GEMINI_API_KEY", "GOOGLE_API_KEY"] }
]

/** The most numbered extras read per variable (a guard; reading stops at the first gap anyway). */
const maxExtras = 64

/**
 * One variable's key, trimmed (a key read from a file or pasted with its line
 * end would make every call's header invalid), or none when empty.
 */
const readOne = (name: string) =>
  Config.option(Config.redacted(name)).pipe(
    Effect.map(Option.flatMap((value) => {
      const raw = Redacted.value(value)
      const trimmed = raw.trim()
      if (trimmed === "") return Option.none()
      return Option.some(trimmed === raw ? value : Redacted.make(trimmed))
    })),
    Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>())
  )

/** `NAME` (when set), then `NAME_1` .. `NAME_n` up to the first one missing. */
const readVariable = (name: string) =>
  Effect.gen(function* () {
    const values: Array<Redacted.Redacted<string>> = []
    const base = yield* readOne(name)
    if (Option.isSome(base)) values.push(base.value)
    for (let i = 1; i <= maxExtras; i++) {
      const extra = yield* readOne(`${name}_${i}`)
      if (Option.isNone(extra)) break
      values.push(extra.value)
    }
    return values
  })

/** Every provider's keys, ids `provider#0`, `provider#1`, ... in reading order. */
export const readKeys = (
  sources: ReadonlyArray<KeySource> = defaultSources
): Effect.Effect<ReadonlyMap<string, ReadonlyArray<ProviderKey>>> =>
  Effect.gen(function* () {
    const result = new Map<string, ReadonlyArray<ProviderKey>>()
    for (const source of sources) {
      const values = (yield* Effect.forEach(source.variables, readVariable)).flat()
      const unique = values.filter((v, i) => values.findIndex((w) => Redacted.value(w) === Redacted.value(v)) === i)
      const previous = result.get(source.provider) ?? []
      result.set(source.provider, [
        ...previous,
        ...unique.map((value, i) => ({ id: `${source.provider}#${previous.length + i}`, value }))
      ])
    }
    return result
  })
