/**
 * Reading OpenAI-shape content for providers whose wire shapes differ
 * (Anthropic, Gemini, Ollama): text flattening, data URLs, tool arguments.
 */
import type { ChatRequest, TextPart } from "@modelgate/domain/Chat"
import { Option, Schema } from "effect"

/** A request's stop sequences as a list (`stop` may be one string), or undefined when it has none. */
export const stopSequences = (request: ChatRequest): ReadonlyArray<string> | undefined =>
  request.stop == null ? undefined : typeof request.stop === "string" ? [request.stop] : request.stop

/** The text of string-or-parts content, parts joined without separator. */
export const textOf = (content: string | ReadonlyArray<TextPart>): string =>
  typeof content === "string" ? content : content.map((part) => part.text).join("")

/** The mime type and base64 payload of a `data:<mime>;base64,<data>` URL, or undefined for any other URL. */
export const parseDataUrl = (url: string): { readonly mimeType: string; readonly data: string } | undefined => {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url)
  if (match === null) return undefined
  // Mime types are case-insensitive; `image/jpg` (common, and taken by OpenAI) is not a registered type: Anthropic refuses it.
  const mimeType = match[1]!.trim().toLowerCase()
  return { mimeType: mimeType === "image/jpg" ? "image/jpeg" : mimeType, data: match[2]! }
}

const JsonObject = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
const decodeJsonObject = Schema.decodeUnknownOption(JsonObject)

/** OpenAI's tool-call `arguments` string as a JSON object; undefined when it is not one (empty means `{}`). */
export const parseToolArguments = (args: string): Record<string, unknown> | undefined =>
  args.trim() === "" ? {} : Option.getOrUndefined(decodeJsonObject(args))
