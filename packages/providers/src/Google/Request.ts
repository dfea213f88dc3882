/**
 * ChatRequest (OpenAI shape) -> Gemini `generateContent` request body.
 */
import type { Unsupported } from "@modelgate/core/Provider"
import type { ChatMessage, ChatRequest, ContentPart, Tool, ToolChoice } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { effortValueKinds, type ReasoningEffortValue } from "@modelgate/domain/ModelParameters"
import { BadRequest } from "@modelgate/domain/ProviderError"
import { Either } from "effect"
import { parseToolArguments, type Refusal, stopSequences, textOf } from "../internal/content.js"
import { inlineDataAt, inlineImageAt, isDataUrl } from "../internal/dataUrl.js"
import { unservedEffort } from "../internal/reasoning.js"
import { shownToolId } from "../internal/toolIds.js"
import { fromGemini3 } from "./generation.js"

/** One part of a Gemini content we send. */
export type GeminiPart =
  | { readonly text: string }
  | { readonly inlineData: { readonly mimeType: string; readonly data: string } }
  | { readonly functionCall: { readonly name: string; readonly args: Record<string, unknown> }; readonly thoughtSignature?: string }
  | { readonly functionResponse: { readonly name: string; readonly response: Record<string, unknown> } }

/** One turn: `user` or `model`. */
export interface GeminiContent {
  readonly role: "user" | "model"
  readonly parts: ReadonlyArray<GeminiPart>
}

/** `generationConfig`: only fields Gemini knows (unknown ones are a 400). */
export interface GenerationConfig {
  readonly temperature?: number
  readonly topP?: number
  readonly maxOutputTokens?: number
  readonly stopSequences?: ReadonlyArray<string>
  readonly candidateCount?: number
  readonly seed?: number
  readonly presencePenalty?: number
  readonly frequencyPenalty?: number
  readonly responseMimeType?: string
  readonly responseJsonSchema?: unknown
  readonly thinkingConfig?: { readonly thinkingLevel: string } | { readonly thinkingBudget: number }
}

/** The body of `:generateContent` / `:streamGenerateContent`. */
export interface GeminiRequest {
  readonly contents: ReadonlyArray<GeminiContent>
  readonly systemInstruction?: { readonly parts: ReadonlyArray<{ readonly text: string }> }
  readonly generationConfig?: GenerationConfig
  readonly tools?: ReadonlyArray<{
    readonly functionDeclarations: ReadonlyArray<{ readonly name: string; readonly description?: string; readonly parametersJsonSchema?: unknown }>
  }>
  readonly toolConfig?: {
    readonly functionCallingConfig: { readonly mode: "AUTO" | "ANY" | "NONE"; readonly allowedFunctionNames?: ReadonlyArray<string> }
  }
}

/**
 * The media types Gemini takes for an image (its image-understanding docs:
 * PNG, JPEG, WEBP, HEIC, HEIF); any other, GIF included, is its 400
 * INVALID_ARGUMENT.
 */
export const imageMediaTypes: ReadonlySet<string> = new Set(["image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"])

/** A user message's parts; `at` is its content's field (`messages[2].content`), to name a part that cannot be sent. */
const userParts = (content: string | ReadonlyArray<ContentPart>, at: string): Either.Either<ReadonlyArray<GeminiPart>, Refusal> => {
  if (typeof content === "string") return Either.right(content === "" ? [] : [{ text: content }])
  const parts: Array<GeminiPart> = []
  for (const [j, part] of content.entries()) {
    switch (part.type) {
      case "text":
        if (part.text !== "") parts.push({ text: part.text })
        break
      case "image_url": {
        const param = `${at}[${j}].image_url.url`
        if (!isDataUrl(part.image_url.url)) return Either.left({ param, detail: "Gemini takes images inline: send them as data: URLs" })
        const data = inlineImageAt(part.image_url.url, param, "Gemini", imageMediaTypes)
        if (Either.isLeft(data)) return Either.left(data.left)
        parts.push({ inlineData: data.right })
        break
      }
      case "file": {
        if (part.file.file_data === undefined) return Either.left({ detail: "file parts need inline file_data as a data: URL" })
        const data = inlineDataAt(part.file.file_data, `${at}[${j}].file.file_data`)
        if (Either.isLeft(data)) return Either.left(data.left)
        parts.push({ inlineData: data.right })
        break
      }
      case "input_audio":
        parts.push({ inlineData: { mimeType: `audio/${part.input_audio.format}`, data: part.input_audio.data } })
        break
    }
  }
  return Either.right(parts)
}

/** A tool result as the object Gemini wants: a JSON object as is, anything else as `{output}`. */
const responseOf = (content: string): Record<string, unknown> => {
  const parsed = content.trim().startsWith("{") ? parseToolArguments(content) : undefined
  return parsed ?? { output: content }
}

/** The thought signature to send with a tool call of the history (`firstOfTurn`: the first of its assistant message), if one. */
export type SignatureFor = (toolCallId: string, firstOfTurn: boolean) => string | undefined

const noSignature: SignatureFor = () => undefined

/**
 * The user turn sent before a history that opens with the assistant's
 * function calls (an agent that acts before the user speaks, a history cut
 * to its last turns): Gemini refuses a function-call turn that follows no
 * user turn ("Please ensure that function call turn comes immediately after
 * a user turn or after a function response turn", a 400), which OpenAI
 * takes. The least text Gemini takes (it refuses an empty part).
 */
const standInUserTurn: GeminiContent = { role: "user", parts: [{ text: "." }] }

/**
 * Messages as Gemini contents plus the lifted system instruction;
 * consecutive same-role turns merged; each history tool call with the
 * signature `signatureFor` gives it; the function responses of a turn in
 * the order of the calls they answer (Gemini pairs them by position); a
 * stand-in user turn first when the history opens with function calls.
 */
export const translateContents = (
  messages: ReadonlyArray<ChatMessage>,
  signatureFor: SignatureFor = noSignature
): Either.Either<{ readonly system: string | undefined; readonly contents: ReadonlyArray<GeminiContent> }, Refusal> => {
  const system: Array<string> = []
  const out: Array<{ role: "user" | "model"; parts: Array<GeminiPart> }> = []
  const names = new Map<string, string>()
  // A call's place in its assistant message, and the places of the calls the function responses opening the last user turn answer.
  const places = new Map<string, number>()
  let answered: { readonly turn: { parts: Array<GeminiPart> }; readonly places: Array<number> } | undefined
  const push = (role: "user" | "model", parts: ReadonlyArray<GeminiPart>) => {
    if (parts.length === 0) return
    const last = out[out.length - 1]
    if (last !== undefined && last.role === role) last.parts.push(...parts)
    else out.push({ role, parts: [...parts] })
  }
  for (const [i, message] of messages.entries()) {
    switch (message.role) {
      case "system":
      case "developer": {
        const text = textOf(message.content)
        if (text !== "") system.push(text)
        break
      }
      case "user": {
        const parts = userParts(message.content, `messages[${i}].content`)
        if (Either.isLeft(parts)) return Either.left(parts.left)
        push("user", parts.right)
        break
      }
      case "assistant": {
        const parts: Array<GeminiPart> = []
        const text = message.content == null ? "" : textOf(message.content)
        if (text !== "") parts.push({ text })
        for (const [k, call] of (message.tool_calls ?? []).entries()) {
          const args = parseToolArguments(call.function.arguments)
          if (args === undefined) return Either.left({ detail: `the arguments of tool call ${shownToolId(call.id)} are not a JSON object` })
          names.set(call.id, call.function.name)
          places.set(call.id, k)
          const signature = signatureFor(call.id, k === 0)
          parts.push({ functionCall: { name: call.function.name, args }, ...(signature !== undefined ? { thoughtSignature: signature } : {}) })
        }
        push("model", parts)
        break
      }
      case "tool": {
        const name = names.get(message.tool_call_id)
        if (name === undefined) return Either.left({ detail: `tool message answers unknown tool call ${shownToolId(message.tool_call_id)}` })
        const part: GeminiPart = { functionResponse: { name, response: responseOf(textOf(message.content)) } }
        const place = places.get(message.tool_call_id)!
        const last = out[out.length - 1]
        if (answered !== undefined && answered.turn === last) {
          // In the order of the calls: Gemini pairs responses with calls by position, OpenAI by tool_call_id.
          const at = answered.places.findIndex((p) => p > place)
          const index = at < 0 ? answered.places.length : at
          last.parts.splice(index, 0, part)
          answered.places.splice(index, 0, place)
        } else {
          push("user", [part])
          const turn = out[out.length - 1]!
          answered = turn.parts.length === 1 ? { turn, places: [place] } : undefined
        }
        break
      }
    }
  }
  if (out.length === 0) return Either.left({ detail: "the request has no user or assistant message" })
  const opensWithCalls = out[0]!.role === "model" && out[0]!.parts.some((part) => "functionCall" in part)
  const contents = opensWithCalls ? [standInUserTurn, ...out] : out
  return Either.right({ system: system.length === 0 ? undefined : system.join("\n\n"), contents })
}

const translateTools = (tools: ReadonlyArray<Tool>): GeminiRequest["tools"] => [{
  functionDeclarations: tools.map((tool) => ({
    name: tool.function.name,
    ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
    ...(tool.function.parameters !== undefined ? { parametersJsonSchema: tool.function.parameters } : {})
  }))
}]

const translateToolChoice = (choice: ToolChoice | undefined): GeminiRequest["toolConfig"] => {
  if (choice === undefined) return undefined
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } }
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } }
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } }
  return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } }
}

/**
 * A reasoning effort the model would not take as a `thinkingConfig`: one
 * its registry entry does not map, or any at all without a mapping (Gemini
 * 2.5 takes a budget, Gemini 3 a level; only the registry knows which).
 */
export const unservedGeminiEffort = (provider: string, request: ChatRequest, model: ModelMetadata): Unsupported | undefined =>
  unservedEffort(provider, request, model, effortValueKinds.google)

/** Gemini's function names: a letter or `_` first, then letters, digits, `_.:-`, at most 128 (OpenAI's may start with a digit or `-`). */
const geminiFunctionName = /^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$/

/** A tool whose name Gemini does not take (it answers a 400 INVALID_ARGUMENT); renamed, its calls would not be the client's. */
export const unnamedForGemini = (provider: string, request: ChatRequest): Unsupported | undefined => {
  const bad = request.tools?.find((tool) => !geminiFunctionName.test(tool.function.name))
  return bad === undefined
    ? undefined
    : { param: "tools", reason: `${provider} takes function names that start with a letter or _ (${bad.function.name} asked)` }
}

/**
 * A JSON response format (`json_object`, `json_schema`) beside function
 * tools on a model before Gemini 3: Gemini 2.x answers the
 * `responseMimeType` with function declarations with a 400 ("Function
 * calling with a response mime type: 'application/json' is unsupported");
 * Gemini 3 takes both.
 */
export const jsonBesideTools = (provider: string, request: ChatRequest, model: ModelMetadata): Unsupported | undefined => {
  const format = request.response_format?.type
  if (format === undefined || format === "text" || request.tools === undefined || request.tools.length === 0) return undefined
  return fromGemini3(model.providerModel)
    ? undefined
    : { param: "response_format", reason: `${provider} ${model.providerModel} takes no JSON response format beside function tools (Gemini 3 and later do)` }
}

const thinkingConfigOf = (effort: ReasoningEffortValue | undefined): GenerationConfig["thinkingConfig"] =>
  typeof effort === "string" ? { thinkingLevel: effort } : typeof effort === "number" ? { thinkingBudget: effort } : undefined

const generationConfigOf = (request: ChatRequest, effort: ReasoningEffortValue | undefined): GenerationConfig | undefined => {
  const thinkingConfig = thinkingConfigOf(effort)
  const stop = stopSequences(request)
  const max = request.max_completion_tokens ?? request.max_tokens
  const format = request.response_format
  const config: GenerationConfig = {
    ...(request.temperature != null ? { temperature: request.temperature } : {}),
    ...(request.top_p != null ? { topP: request.top_p } : {}),
    ...(max != null ? { maxOutputTokens: max } : {}),
    ...(stop !== undefined && stop.length > 0 ? { stopSequences: stop } : {}),
    ...(request.n != null && request.n > 1 ? { candidateCount: request.n } : {}),
    ...(request.seed != null ? { seed: request.seed } : {}),
    ...(request.presence_penalty != null ? { presencePenalty: request.presence_penalty } : {}),
    ...(request.frequency_penalty != null ? { frequencyPenalty: request.frequency_penalty } : {}),
    ...(format !== undefined && format.type !== "text" ? { responseMimeType: "application/json" } : {}),
    ...(format?.type === "json_schema" && format.json_schema.schema !== undefined
      ? { responseJsonSchema: format.json_schema.schema }
      : {}),
    ...(thinkingConfig !== undefined ? { thinkingConfig } : {})
  }
  return Object.keys(config).length === 0 ? undefined : config
}

/**
 * The Gemini body for a request; no OpenAI field is passed through
 * untranslated. `effort` is the model's own value for the request's
 * reasoning effort (`effortValue`), sent as its `thinkingConfig`; history
 * tool calls carry the thought signatures `signatureFor` gives them.
 */
export const toGeminiRequest = (
  request: ChatRequest,
  context: { readonly provider: string; readonly model: string },
  effort: ReasoningEffortValue | undefined = undefined,
  signatureFor: SignatureFor = noSignature
): Either.Either<GeminiRequest, BadRequest> => {
  const translated = translateContents(request.messages, signatureFor)
  if (Either.isLeft(translated)) return Either.left(new BadRequest({ ...context, ...translated.left }))
  const tools = request.tools !== undefined && request.tools.length > 0 ? translateTools(request.tools) : undefined
  const toolConfig = tools === undefined ? undefined : translateToolChoice(request.tool_choice)
  const generationConfig = generationConfigOf(request, effort)
  return Either.right({
    contents: translated.right.contents,
    ...(translated.right.system !== undefined ? { systemInstruction: { parts: [{ text: translated.right.system }] } } : {}),
    ...(generationConfig !== undefined ? { generationConfig } : {}),
    ...(tools !== undefined ? { tools } : {}),
    ...(toolConfig !== undefined ? { toolConfig } : {})
  })
}
