/**
 * The deterministic "model" behind the provider fakes: what they answer, how
 * they count tokens, how they honour max tokens and stop sequences, and what
 * arguments they give a tool call.
 */
import { Clock } from "effect"

const live = Clock.make()

/** Real wall-clock time (fakes run on the live clock even under TestClock). */
export const nowMs = (): number => live.unsafeCurrentTimeMillis()

/** The answer to a user text: `Echo: <text>`, or a greeting when there is none. */
export const replyTo = (text: string): string => (text.trim() === "" ? "Hello from the fake." : `Echo: ${text.trim()}`)

/** The fakes' tokenizer: about four characters a token, at least one for non-empty text. */
export const countTokens = (text: string): number => Math.ceil(text.length / 4)

/** A text cut into word pieces (each keeps its trailing space): the fakes' output tokens and stream deltas. */
export const pieces = (text: string): Array<string> => text.match(/\S+\s*|\s+/g) ?? []

/** Why a reply ended. */
export type StopKind = "end" | "stop_sequence" | "max_tokens"

/**
 * Apply stop sequences (the text is cut before the first match) and a token
 * cap (in word pieces). Returns the text sent and why it ended.
 */
export const limitReply = (
  text: string,
  options: { readonly stop: ReadonlyArray<string>; readonly maxTokens: number | undefined }
): { readonly text: string; readonly stop: StopKind; readonly stopSequence?: string } => {
  let out = text
  let stop: StopKind = "end"
  let stopSequence: string | undefined
  for (const seq of options.stop) {
    const at = seq === "" ? -1 : out.indexOf(seq)
    if (at >= 0) {
      out = out.slice(0, at)
      stop = "stop_sequence"
      stopSequence = seq
    }
  }
  const words = pieces(out)
  if (options.maxTokens !== undefined && words.length > options.maxTokens) {
    out = words.slice(0, options.maxTokens).join("")
    stop = "max_tokens"
  }
  return stopSequence === undefined ? { text: out, stop } : { text: out, stop, stopSequence }
}

/** Whether a value is a plain object (not null, not an array). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const record = (value: unknown): Record<string, unknown> | undefined => (isRecord(value) ? value : undefined)

/** Arguments for a tool from its JSON schema: every required property filled with a value of its type. */
export const toolArguments = (schema: unknown, hint: string): Record<string, unknown> => {
  const properties = record(record(schema)?.["properties"]) ?? {}
  const required = record(schema)?.["required"]
  const names = Array.isArray(required) ? required.filter((n): n is string => typeof n === "string") : []
  const out: Record<string, unknown> = {}
  for (const name of names) {
    const type = record(properties[name])?.["type"]
    out[name] = type === "number" || type === "integer"
      ? 1
      : type === "boolean"
      ? true
      : type === "array"
      ? []
      : type === "object"
      ? {}
      : hint
  }
  return out
}

/** A plain object field of an unknown value. */
export const asRecord = record
