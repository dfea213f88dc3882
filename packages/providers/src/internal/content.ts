/**
 * Reading OpenAI-shape content for providers whose wire shapes differ
 * (Anthropic, Gemini, Ollama): text flattening, tool arguments, refusals.
 */
import type { ChatRequest, TextPart } from "@modelgate/domain/Chat"
import { Option, Schema } from "effect"

/** A request's stop sequences as a list (`stop` may be one string), or undefined when it has none. */
export const stopSequences = (request: ChatRequest): ReadonlyArray<string> | undefined =>
  request.stop == null ? undefined : typeof request.stop === "string" ? [request.stop] : request.stop

/** The text of string-or-parts content, parts joined without separator. */
export const textOf = (content: string | ReadonlyArray<TextPart>): string =>
  typeof content === "string" ? content : content.map((part) => part.text).join("")

/** Why a request cannot be translated, and the field to blame (`messages[0].content[1].image_url.url`) when there is one. */
export interface Refusal {
  readonly detail: string
  readonly param?: string
}

const JsonObject = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
const decodeJsonObject = Schema.decodeUnknownOption(JsonObject)

/** OpenAI's tool-call `arguments` string as a JSON object; undefined when it is not one (empty means `{}`). */
export const parseToolArguments = (args: string): Record<string, unknown> | undefined =>
  args.trim() === "" ? {} : Option.getOrUndefined(decodeJsonObject(args))
