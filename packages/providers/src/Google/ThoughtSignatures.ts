/**
 * Gemini's thought signatures, carried in the tool-call ids the adapter
 * gives. An OpenAI client sends its tool calls back without unknown fields,
 * and Gemini 3 refuses a function-call turn that lacks its signature (a
 * 400); but the client does send the id back, with the call and with its
 * result. So a signed call's id is its own id, `__ts_`, a check and the
 * signature, all in `[A-Za-z0-9_-]`:
 *
 *     call_<responseId>_0_0__ts_<check: 8><form: 1><signature>
 *
 * - form `b`: the signature is standard padded base64 (as Gemini sends
 *   it); it goes as base64url of the same bytes (`+` as `-`, `/` as `_`, no
 *   padding): no longer than Gemini's text, and decoded back to it exactly.
 * - form `u`: every other text, as base64url of its UTF-8 bytes.
 * - the check: 8 base64url characters (48 bits) of SHA-256 over the model
 *   (without `models/`) and the signature. A signature is valid for the
 *   model that wrote it only: the check ties it to that model, and catches
 *   an id a client cut or changed (such an id is treated as unsigned
 *   rather than sent to Gemini as a corrupted signature).
 *
 * Nothing is kept in the gateway: the signature survives a restart and
 * reaches whichever instance serves the next turn.
 */
import { Buffer } from "node:buffer"
import { createHash } from "node:crypto"
import { fromGemini3 } from "./generation.js"

/** Gemini's documented stand-in for history its model did not write (another model's tool calls, or an id without a signature). */
export const unsignedHistory = "skip_thought_signature_validator"

/** Models that refuse a function-call turn without its signature (Gemini 3 and later; with or without the `models/` prefix). */
export const requiresSignatures = (model: string): boolean => fromGemini3(model)

/**
 * Between a tool call's own id and the signature it carries. Should an id
 * already hold it (Gemini's own `functionCall.id`, say), each place it occurs
 * is tried, and only one whose check matches counts.
 */
export const separator = "__ts_"

const checkLength = 8

const checkOf = (model: string, signature: string): string =>
  createHash("sha256").update(`${model.replace(/^models\//, "")}\n${signature}`).digest("base64url").slice(0, checkLength)

/** `b`: base64 as Gemini sends it (standard, padded), as base64url of the same bytes; `u`: every other text, as base64url of its UTF-8. */
const encode = (signature: string): string => {
  const bytes = Buffer.from(signature, "base64")
  return bytes.toString("base64") === signature
    ? `b${bytes.toString("base64url")}`
    : `u${Buffer.from(signature, "utf8").toString("base64url")}`
}

const decode = (form: string | undefined, body: string): string | undefined =>
  form === "b"
    ? Buffer.from(body, "base64url").toString("base64")
    : form === "u"
    ? Buffer.from(body, "base64url").toString("utf8")
    : undefined

/** The id a tool call `id` gets when `model` signed it with `signature`. */
export const signedId = (id: string, model: string, signature: string): string =>
  `${id}${separator}${checkOf(model, signature)}${encode(signature)}`

/** The signature `model` gave with the tool call of id `toolCallId`, exactly as it gave it; undefined for any other id or model. */
export const signatureIn = (toolCallId: string, model: string): string | undefined => {
  for (let at = toolCallId.indexOf(separator); at >= 0; at = toolCallId.indexOf(separator, at + 1)) {
    const start = at + separator.length
    const signature = decode(toolCallId[start + checkLength], toolCallId.slice(start + checkLength + 1))
    if (signature !== undefined && signature !== "" && toolCallId.slice(start, start + checkLength) === checkOf(model, signature)) {
      return signature
    }
  }
  return undefined
}

/**
 * The signature to send with tool call `toolCallId` to `model`: the one its
 * id carries, when `model` wrote it; else, for the first call of a turn on
 * a model that requires one, Gemini's stand-in; else none.
 */
export const forCall = (model: string, toolCallId: string, firstOfTurn: boolean): string | undefined =>
  signatureIn(toolCallId, model) ?? (firstOfTurn && requiresSignatures(model) ? unsignedHistory : undefined)
