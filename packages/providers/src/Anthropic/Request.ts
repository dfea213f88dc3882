/**
 * ChatRequest (OpenAI shape) -> Anthropic Messages request body.
 */
import type { Unsupported } from "@modelgate/core/Provider"
import { estimatePromptTokens } from "@modelgate/core/TokenEstimator"
import type { CacheControl, ChatMessage, ChatRequest, ContentPart, TextPart, Tool, ToolChoice } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { effortValueKinds } from "@modelgate/domain/ModelParameters"
import { BadRequest } from "@modelgate/domain/ProviderError"
import { Either } from "effect"
import { createHash } from "node:crypto"
import { parseToolArguments, type Refusal, stopSequences, textOf } from "../internal/content.js"
import { inlineDataAt, inlineImageAt, isDataUrl, sniffedImageType } from "../internal/dataUrl.js"
import { effortValue, unservedEffort } from "../internal/reasoning.js"
import { shownToolId, stableToolId, withToolIds, withUniqueToolIds } from "../internal/toolIds.js"
import { onLastTool, withoutBlankText } from "./blankText.js"
import { forStructuredOutput } from "./outputSchema.js"

/** A prompt-cache breakpoint, as Anthropic takes it. */
type Cache = { readonly cache_control?: CacheControl }

/** A text block: of a message or of the system prompt. */
export type AnthropicText = { readonly type: "text"; readonly text: string } & Cache

/** A content block of an Anthropic message we send; any may carry a cache breakpoint. */
export type AnthropicBlock =
  | AnthropicText
  | ({
    readonly type: "image"
    readonly source:
      | { readonly type: "base64"; readonly media_type: string; readonly data: string }
      | { readonly type: "url"; readonly url: string }
  } & Cache)
  | ({
    readonly type: "document"
    readonly source:
      | { readonly type: "base64"; readonly media_type: "application/pdf"; readonly data: string }
      | { readonly type: "text"; readonly media_type: "text/plain"; readonly data: string }
  } & Cache)
  | ({ readonly type: "tool_use"; readonly id: string; readonly name: string; readonly input: Record<string, unknown> } & Cache)
  | ({ readonly type: "tool_result"; readonly tool_use_id: string; readonly content: string } & Cache)

/** One Anthropic message: a role and its blocks. */
export interface AnthropicMessage {
  readonly role: "user" | "assistant"
  readonly content: ReadonlyArray<AnthropicBlock>
}

/** The body of `POST /v1/messages`. */
export interface AnthropicRequest {
  readonly model: string
  readonly max_tokens: number
  readonly messages: ReadonlyArray<AnthropicMessage>
  readonly system?: string | ReadonlyArray<AnthropicText>
  readonly temperature?: number
  readonly top_p?: number
  readonly stop_sequences?: ReadonlyArray<string>
  readonly tools?: ReadonlyArray<{ readonly name: string; readonly description?: string; readonly input_schema: unknown } & Cache>
  readonly tool_choice?: { readonly type: "auto" | "any" | "none" | "tool"; readonly name?: string; readonly disable_parallel_tool_use?: boolean }
  readonly output_config?: {
    readonly format?: { readonly type: "json_schema"; readonly schema: unknown }
    readonly effort?: string
  }
  readonly metadata?: { readonly user_id: string }
  readonly stream?: boolean
}

/** The fields of an error a failed translation carries. */
export interface TranslateContext {
  readonly provider: string
  readonly model: string
}

const cacheOf = (cache: CacheControl | undefined): Cache => (cache === undefined ? {} : { cache_control: cache })

const textBlock = (text: string, cache: CacheControl | undefined): AnthropicText => ({ type: "text", text, ...cacheOf(cache) })

/** The last breakpoint among text parts, if one. */
const lastCache = (content: string | ReadonlyArray<TextPart>): CacheControl | undefined => {
  if (typeof content === "string") return undefined
  for (let i = content.length - 1; i >= 0; i--) if (content[i]!.cache_control !== undefined) return content[i]!.cache_control
  return undefined
}

/**
 * Text content as blocks: one joined block, or, when a part carries a cache
 * breakpoint, one block per part with its own. Blank ones are left out later
 * (`withoutBlankText`), where their breakpoints find a place.
 */
const textBlocks = (content: string | ReadonlyArray<TextPart>): ReadonlyArray<AnthropicText> =>
  lastCache(content) === undefined
    ? [{ type: "text", text: textOf(content) }]
    : (content as ReadonlyArray<TextPart>).map((part) => textBlock(part.text, part.cache_control))

/** The media types Anthropic takes for a base64 image (PROVIDERS.md); any other is its 400. */
export const imageMediaTypes: ReadonlySet<string> = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"])

/**
 * The most base64 Anthropic takes for one inline image (5 MB, as base64,
 * not the image's bytes): a larger one is its 400 ("image exceeds 5 MB
 * maximum"), where OpenAI and Gemini take it.
 */
export const maxImageBase64 = 5 * 1024 * 1024

/**
 * An image part (`param` is its URL's field): inline from a data URL, else
 * by URL for Anthropic to fetch. An inline one goes with the type its bytes
 * show when that is another of Anthropic's: it answers bytes of another type
 * than the declared one with a 400 ("the image appears to be a image/jpeg
 * image"), where OpenAI reads the type from the bytes.
 */
const imageBlock = (url: string, param: string): Either.Either<AnthropicBlock, Refusal> => {
  if (!isDataUrl(url)) return Either.right({ type: "image", source: { type: "url", url } })
  return Either.map(inlineImageAt(url, param, "Anthropic", imageMediaTypes), ({ data, mimeType }) => ({
    type: "image",
    source: { type: "base64", media_type: sniffedImageType(data) ?? mimeType, data }
  }))
}

/** The media types Anthropic takes for a file (`document` block): a PDF as base64, plain text as text; any other is its 400. */
export const fileMediaTypes: ReadonlySet<string> = new Set(["application/pdf", "text/plain"])

/** A file part (`param` is its data's field) as a document: a PDF as base64, plain text decoded (Anthropic takes no base64 text). */
const documentBlock = (fileData: string, param: string): Either.Either<AnthropicBlock, Refusal> =>
  Either.flatMap(inlineDataAt(fileData, param), ({ data, mimeType }): Either.Either<AnthropicBlock, Refusal> => {
    if (mimeType === "application/pdf") return Either.right({ type: "document", source: { type: "base64", media_type: mimeType, data } })
    if (mimeType === "text/plain") {
      return Either.right({ type: "document", source: { type: "text", media_type: mimeType, data: Buffer.from(data, "base64").toString("utf8") } })
    }
    return Either.left({ param, detail: `Anthropic takes files as ${[...fileMediaTypes].join(", ")}; ${param} is ${mimeType}` })
  })

/** A user message's blocks; `at` is its content's field (`messages[2].content`), to name a part that cannot be sent. */
const userBlocks = (
  content: string | ReadonlyArray<ContentPart>,
  at: string
): Either.Either<ReadonlyArray<AnthropicBlock>, Refusal> => {
  if (typeof content === "string") return Either.right([{ type: "text", text: content }])
  const blocks: Array<AnthropicBlock> = []
  for (const [j, part] of content.entries()) {
    switch (part.type) {
      case "text":
        blocks.push(textBlock(part.text, part.cache_control))
        break
      case "image_url": {
        const image = imageBlock(part.image_url.url, `${at}[${j}].image_url.url`)
        if (Either.isLeft(image)) return Either.left(image.left)
        blocks.push(image.right)
        break
      }
      case "file": {
        if (part.file.file_data === undefined) return Either.left({ detail: "file parts need inline file_data as a data: URL" })
        const document = documentBlock(part.file.file_data, `${at}[${j}].file.file_data`)
        if (Either.isLeft(document)) return Either.left(document.left)
        blocks.push(document.right)
        break
      }
      case "input_audio":
        return Either.left({ detail: "Anthropic does not accept audio input" })
    }
  }
  return Either.right(blocks)
}

const assistantBlocks = (
  message: Extract<ChatMessage, { role: "assistant" }>
): Either.Either<ReadonlyArray<AnthropicBlock>, Refusal> => {
  const blocks: Array<AnthropicBlock> = message.content == null ? [] : [...textBlocks(message.content)]
  for (const call of message.tool_calls ?? []) {
    const input = parseToolArguments(call.function.arguments)
    if (input === undefined) return Either.left({ detail: `the arguments of tool call ${shownToolId(call.id)} are not a JSON object` })
    blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input })
  }
  return Either.right(blocks)
}

/** The system prompt: its texts joined, or as blocks when one carries a cache breakpoint; undefined when empty. */
const systemOf = (blocks: ReadonlyArray<AnthropicText>): AnthropicRequest["system"] => {
  if (blocks.some((b) => b.cache_control !== undefined)) return blocks
  const joined = blocks.map((b) => b.text).join("\n\n")
  return joined === "" ? undefined : joined
}

/**
 * Messages in Anthropic form: leading system/developer text lifted out, the
 * rest as alternating user/assistant turns, blank text left out; cache
 * breakpoints (`cache_control`) kept on their text blocks and tool results
 * (a blank block's on the block before it, see `withoutBlankText`; with none
 * before it, as `leading`, for the last tool).
 */
export const translateMessages = (
  messages: ReadonlyArray<ChatMessage>
): Either.Either<{
  readonly system: AnthropicRequest["system"]
  readonly messages: ReadonlyArray<AnthropicMessage>
  readonly leading: CacheControl | undefined
}, Refusal> => {
  const system: Array<AnthropicText> = []
  const out: Array<{ role: "user" | "assistant"; content: Array<AnthropicBlock> }> = []
  const push = (role: "user" | "assistant", blocks: ReadonlyArray<AnthropicBlock>) => {
    if (blocks.length === 0) return
    const last = out[out.length - 1]
    if (last !== undefined && last.role === role) last.content.push(...blocks)
    else out.push({ role, content: [...blocks] })
  }
  for (const [i, message] of messages.entries()) {
    switch (message.role) {
      case "system":
      case "developer": {
        if (out.length === 0) system.push(...textBlocks(message.content))
        else push("user", textBlocks(message.content))
        break
      }
      case "user": {
        const blocks = userBlocks(message.content, `messages[${i}].content`)
        if (Either.isLeft(blocks)) return Either.left(blocks.left)
        push("user", blocks.right)
        break
      }
      case "assistant": {
        const blocks = assistantBlocks(message)
        if (Either.isLeft(blocks)) return Either.left(blocks.left)
        push("assistant", blocks.right)
        break
      }
      case "tool":
        push("user", [{ type: "tool_result", tool_use_id: message.tool_call_id, content: textOf(message.content), ...cacheOf(lastCache(message.content)) }])
        break
    }
  }
  const sent = withoutBlankText(system, out)
  if (sent.messages.length === 0) return Either.left({ detail: "the request has no user or assistant message" })
  return Either.right({ system: systemOf(sent.system), messages: sent.messages, leading: sent.leading })
}

/**
 * A tool's `input_schema`: its parameters, with `type: "object"` when they
 * name no type (OpenAI takes `{}` for a tool without arguments; the Messages
 * API answers a schema without its root type with a 400).
 */
const inputSchemaOf = (parameters: Tool["function"]["parameters"]): unknown =>
  parameters === undefined ? { type: "object", properties: {} } : parameters.type === undefined ? { type: "object", ...parameters } : parameters

/**
 * The tools as Anthropic takes them. A client's `strict` is not sent (see
 * README): Anthropic's strict tools refuse the whole request (a 400) on a
 * model without them, over 20 strict tools or 16 union-typed parameters,
 * and past an undocumented size of the compiled grammar, which agents that
 * mark every tool strict reach; a plain tool is served.
 */
const translateTools = (tools: ReadonlyArray<Tool>) =>
  tools.map((tool) => ({
    name: tool.function.name,
    ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
    input_schema: inputSchemaOf(tool.function.parameters),
    ...cacheOf(tool.cache_control)
  }))

const translateToolChoice = (
  choice: ToolChoice | undefined,
  parallel: boolean | undefined
): AnthropicRequest["tool_choice"] => {
  const disable = parallel === false ? { disable_parallel_tool_use: true } : {}
  if (choice === undefined) return parallel === false ? { type: "auto", ...disable } : undefined
  if (choice === "none") return { type: "none" }
  if (choice === "auto") return { type: "auto", ...disable }
  if (choice === "required") return { type: "any", ...disable }
  return { type: "tool", name: choice.function.name, ...disable }
}

/**
 * JSON mode without a schema (`json_object`, or `json_schema` with no
 * `schema`): Anthropic constrains output only to a given schema
 * (`output_config.format`), so such a request would be answered as free text.
 */
export const unschemedJson = (provider: string, request: ChatRequest): Unsupported | undefined => {
  const format = request.response_format
  if (format === undefined || format.type === "text") return undefined
  if (format.type === "json_schema" && format.json_schema.schema !== undefined) return undefined
  return {
    param: "response_format",
    reason: `${provider} has no JSON mode without a schema: send response_format json_schema with a schema`
  }
}

/**
 * A stop sequence of whitespace only (`"\n"`, say): Anthropic refuses it
 * (each must hold a non-whitespace character), and leaving it out would let
 * the answer run past where the client asked it to stop.
 */
export const whitespaceStop = (provider: string, request: ChatRequest): Unsupported | undefined => {
  const blank = stopSequences(request)?.find((s) => s.trim() === "")
  return blank === undefined
    ? undefined
    : { param: "stop", reason: `${provider} takes no stop sequence of whitespace only (${JSON.stringify(blank)} asked)` }
}

const breakpointsIn = (content: unknown): number =>
  Array.isArray(content) ? content.filter((part: { readonly cache_control?: unknown }) => part.cache_control !== undefined).length : 0

/** More than the 4 cache breakpoints (`cache_control`) Anthropic takes in one request (it answers a 400). */
export const tooManyBreakpoints = (provider: string, request: ChatRequest): Unsupported | undefined => {
  const tools = request.tools?.filter((tool) => tool.cache_control !== undefined).length ?? 0
  const count = request.messages.reduce((n, m) => n + breakpointsIn(m.content), tools)
  return count > 4 ? { param: "messages", reason: `${provider} takes at most 4 cache_control breakpoints (${count} asked)` } : undefined
}

/**
 * A reasoning effort the model would not take as an `output_config.effort`:
 * one its registry entry does not map, or any at all without a mapping (a
 * model that takes none answers a 400).
 */
export const unservedAnthropicEffort = (provider: string, request: ChatRequest, model: ModelMetadata): Unsupported | undefined =>
  unservedEffort(provider, request, model, effortValueKinds.anthropic)

/**
 * `output_config`: the JSON schema the answer must follow (as structured
 * outputs take it, `forStructuredOutput`) and the model's own effort, each when asked.
 */
const outputConfigOf = (request: ChatRequest, model: ModelMetadata): AnthropicRequest["output_config"] => {
  const format = request.response_format
  const schema = format?.type === "json_schema" ? format.json_schema.schema : undefined
  const effort = effortValue(request, model)
  if (schema === undefined && typeof effort !== "string") return undefined
  return {
    ...(schema !== undefined ? { format: { type: "json_schema", schema: forStructuredOutput(schema) } } : {}),
    ...(typeof effort === "string" ? { effort } : {})
  }
}

/**
 * The conversation with a final assistant turn (a prefill the answer
 * continues) trimmed of trailing whitespace, which Anthropic refuses there
 * with a 400; a text block left empty is dropped.
 */
const withTrimmedPrefill = (messages: ReadonlyArray<AnthropicMessage>): ReadonlyArray<AnthropicMessage> => {
  const last = messages[messages.length - 1]
  const block = last?.content[last.content.length - 1]
  if (last?.role !== "assistant" || block?.type !== "text" || block.text === block.text.trimEnd()) return messages
  const text = block.text.trimEnd()
  const content = text === "" ? last.content.slice(0, -1) : [...last.content.slice(0, -1), { ...block, text }]
  return content.length === 0 ? messages.slice(0, -1) : [...messages.slice(0, -1), { ...last, content }]
}

/**
 * The tools a history without tool definitions calls, declared with an open
 * input schema, and `tool_choice` none: Anthropic refuses `tool_use` /
 * `tool_result` blocks in a request that defines no tools (a 400 OpenAI does
 * not give), and with none chosen the model can call none of them, as
 * OpenAI's could not without tools. Undefined when the history calls none.
 */
const historyTools = (
  messages: ReadonlyArray<AnthropicMessage>
): { readonly tools: NonNullable<AnthropicRequest["tools"]>; readonly tool_choice: AnthropicRequest["tool_choice"] } | undefined => {
  const names = new Set<string>()
  let results = false
  for (const message of messages) {
    for (const block of message.content) {
      if (block.type === "tool_use") names.add(block.name)
      else if (block.type === "tool_result") results = true
    }
  }
  if (names.size === 0 && !results) return undefined
  return { tools: [...names].map((name) => ({ name, input_schema: { type: "object" } })), tool_choice: { type: "none" } }
}

/**
 * The end user's opaque id, for Anthropic's abuse tracking
 * (`metadata.user_id`): OpenAI's `safety_identifier`, else the `user` it
 * replaces (PROVIDERS.md).
 */
const endUserOf = (request: ChatRequest): string | undefined => {
  const safety = (request as Readonly<Record<string, unknown>>)["safety_identifier"]
  const id = typeof safety === "string" ? safety : request.user
  return id === undefined || id === "" ? undefined : opaqueUserId(id)
}

/**
 * An end-user id as Anthropic takes it: one of letters, digits, `_` and `-`
 * (at most 256, and not digits only, as a phone number is) as it is, any
 * other as its SHA-256 in hex written with the letters a-p (no digits, so no
 * run of them reads as a phone number). Anthropic answers personal data in
 * `metadata.user_id` ("user_id appears to contain an email address") with a
 * 400 where OpenAI takes any `user`; the hash keeps one id per end user.
 */
const opaqueUserId = (id: string): string =>
  id.length <= 256 && /^[A-Za-z0-9_-]+$/.test(id) && !/^\d+$/.test(id)
    ? id
    : createHash("sha256").update(id).digest("hex").replace(/[0-9]/g, (d) => "ghijklmnop"[Number(d)]!)

/** The least `max_tokens` a request that names none is sent, however little room its prompt seems to leave. */
const leastDefaultOutput = 1_024

/**
 * `max_tokens` for a request that names none: the model's whole output
 * limit, within the room its prompt leaves in the context window (estimated,
 * with a tenth more for the estimate's error). Claude refuses a prompt plus
 * `max_tokens` over its context window, so a long prompt sent with the whole
 * output limit would fail on a model that can serve it.
 */
const defaultMaxTokens = (model: ModelMetadata, promptTokens: number): number => {
  const room = model.contextWindow - Math.ceil(promptTokens * 1.1)
  return Math.max(Math.min(model.maxOutputTokens, room), Math.min(model.maxOutputTokens, leastDefaultOutput))
}

/**
 * The `max_tokens` a request is sent with (`toAnthropicRequest`), given its
 * prompt's estimate (`promptTokens`, estimated when not given): what Anthropic
 * takes from the key's output limit (OTPM) when the request starts.
 */
export const maxTokensOf = (request: ChatRequest, model: ModelMetadata, promptTokens?: number): number =>
  request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens(model, promptTokens ?? estimatePromptTokens(request, model))

/** Anthropic's tool_use ids: letters, digits, `_` and `-` (another provider's or a client's may hold others, such as `functions.f:0`). */
const isToolUseId = (id: string): boolean => /^[a-zA-Z0-9_-]+$/.test(id)

/**
 * The Anthropic body for a request (tool-call ids Anthropic does not take,
 * and a later call's reuse of an earlier one's id, rewritten stably, in the
 * call and its results alike). With both
 * `temperature` and `top_p`, only `temperature` goes (Claude refuses both at
 * once). A tool history sent without tools declares the tools it calls,
 * none of them to be called (`historyTools`). `max_tokens` is always present: the
 * request's `max_completion_tokens` / `max_tokens`, else the model's
 * `maxOutputTokens` within the room the prompt leaves (`defaultMaxTokens`). Temperature is capped at Anthropic's maximum of 1.
 */
export const toAnthropicRequest = (
  request: ChatRequest,
  model: ModelMetadata,
  options: { readonly stream: boolean; readonly context: TranslateContext }
): Either.Either<AnthropicRequest, BadRequest> => {
  const unique = withUniqueToolIds(request.messages, (id, use) => stableToolId("toolu_", `${id}#${use}`, 30))
  const translated = translateMessages(withToolIds(unique, isToolUseId, (id) => stableToolId("toolu_", id, 30)))
  if (Either.isLeft(translated)) {
    return Either.left(new BadRequest({ ...options.context, ...translated.left }))
  }
  const stop = stopSequences(request)
  const declared = request.tools !== undefined && request.tools.length > 0 ? translateTools(request.tools) : undefined
  const fromHistory = declared === undefined ? historyTools(translated.right.messages) : undefined
  const tools = onLastTool(declared ?? fromHistory?.tools, translated.right.leading)
  const toolChoice = declared !== undefined ? translateToolChoice(request.tool_choice, request.parallel_tool_calls) : fromHistory?.tool_choice
  const outputConfig = outputConfigOf(request, model)
  const endUser = endUserOf(request)
  const body: AnthropicRequest = {
    model: model.providerModel,
    max_tokens: maxTokensOf(request, model),
    messages: withTrimmedPrefill(translated.right.messages),
    ...(translated.right.system !== undefined ? { system: translated.right.system } : {}),
    ...(request.temperature != null ? { temperature: Math.min(request.temperature, 1) } : {}),
    // Claude (Opus 4.1 and later, Sonnet and Haiku 4.5) refuses both at once: temperature is kept, top_p is a hint left out.
    ...(request.top_p != null && request.temperature == null ? { top_p: request.top_p } : {}),
    ...(stop !== undefined && stop.length > 0 ? { stop_sequences: stop } : {}),
    ...(tools !== undefined ? { tools } : {}),
    ...(toolChoice !== undefined ? { tool_choice: toolChoice } : {}),
    ...(outputConfig !== undefined ? { output_config: outputConfig } : {}),
    ...(endUser !== undefined ? { metadata: { user_id: endUser } } : {}),
    ...(options.stream ? { stream: true } : {})
  }
  return Either.right(body)
}
