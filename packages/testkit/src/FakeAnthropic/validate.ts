/**
 * Request validation the way the Anthropic Messages API does it: required
 * fields, roles, block types, sampling ranges and tool_use / tool_result
 * pairing, each answered with an `invalid_request_error` message.
 */
import { asRecord } from "../FakeServer/reply.js"

const blockTypes = new Set(["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"])

const blocksOf = (content: unknown): ReadonlyArray<Record<string, unknown>> =>
  typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content.flatMap((b) => {
    const r = asRecord(b)
    return r === undefined ? [] : [r]
  }) : []

/** Whether a text block's text is empty or whitespace only (both a 400), or neither. */
const blank = (text: unknown): "empty" | "whitespace" | undefined =>
  typeof text !== "string" ? undefined : text === "" ? "empty" : text.trim() === "" ? "whitespace" : undefined

const efforts: ReadonlyArray<string> = ["low", "medium", "high", "xhigh", "max"]

/** The constraints structured outputs refuse, by the type they constrain (an array's `minItems` only above 1). */
const refusedConstraints: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["integer", ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]],
  ["number", ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]],
  ["string", ["minLength", "maxLength"]],
  ["array", ["maxItems", "uniqueItems"]]
]

/**
 * What structured outputs refuse in an `output_config.format.schema`
 * (https://platform.claude.com/docs/en/build-with-claude/structured-outputs,
 * "JSON Schema limitations": `additionalProperties` must be `false` on every
 * object; numerical, string-length and array constraints beyond `minItems`
 * 0 or 1 are not supported), with the API's message, or undefined.
 */
const outputSchemaProblem = (node: unknown): string | undefined => {
  if (Array.isArray(node)) {
    for (const item of node) {
      const problem = outputSchemaProblem(item)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  const schema = asRecord(node)
  if (schema === undefined) return undefined
  const types: ReadonlyArray<unknown> = Array.isArray(schema["type"]) ? schema["type"] : [schema["type"]]
  if (types.includes("object") && schema["additionalProperties"] !== false) {
    return schema["additionalProperties"] === undefined
      ? "For 'object' type, 'additionalProperties' must be explicitly set to false"
      : "For 'object' type, 'additionalProperties' other than false is not supported. Please set 'additionalProperties' to false"
  }
  for (const [type, keys] of refusedConstraints) {
    const key = types.includes(type) ? keys.find((k) => schema[k] !== undefined) : undefined
    if (key !== undefined) return `For '${type}' type, property '${key}' is not supported`
  }
  if (types.includes("array") && typeof schema["minItems"] === "number" && schema["minItems"] > 1) {
    return "For 'array' type, 'minItems' values other than 0 or 1 are not supported"
  }
  for (const key of ["properties", "$defs", "definitions"]) {
    const map = asRecord(schema[key])
    const problem = map === undefined ? undefined : outputSchemaProblem(Object.values(map))
    if (problem !== undefined) return problem
  }
  for (const key of ["items", "anyOf", "oneOf", "allOf"]) {
    const problem = outputSchemaProblem(schema[key])
    if (problem !== undefined) return problem
  }
  return undefined
}

/** The problem with a `POST /v1/messages` body, or undefined when it is valid. */
export const validateMessages = (json: unknown): string | undefined => {
  const body = asRecord(json)
  if (body === undefined) return "Request body must be a JSON object"
  if (typeof body["model"] !== "string" || body["model"] === "") return "model: Field required"
  const max = body["max_tokens"]
  if (max === undefined) return "max_tokens: Field required"
  if (typeof max !== "number" || !Number.isInteger(max) || max < 0) return "max_tokens: Input should be a valid integer >= 0"
  const temperature = body["temperature"]
  if (temperature !== undefined && (typeof temperature !== "number" || temperature < 0 || temperature > 1)) {
    return "temperature: Input should be less than or equal to 1"
  }
  if (temperature !== undefined && body["top_p"] !== undefined) {
    return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
  }
  const stops = body["stop_sequences"]
  if (Array.isArray(stops) && stops.some((s) => typeof s !== "string" || s.trim() === "")) {
    return "stop_sequences: each stop sequence must contain non-whitespace"
  }
  const system = body["system"]
  if (system !== undefined && typeof system !== "string" && !Array.isArray(system)) return "system: Input should be a valid string or list"
  if (blocksOf(system).some((b) => b["type"] === "text" && blank(b["text"]) === "whitespace")) {
    return "system: text content blocks must contain non-whitespace text"
  }
  const messages = body["messages"]
  if (!Array.isArray(messages)) return "messages: Field required"
  if (messages.length === 0) return "messages: at least one message is required"
  let pending: ReadonlyArray<string> = []
  const toolUseIds = new Set<string>()
  for (const [i, raw] of messages.entries()) {
    const message = asRecord(raw)
    if (message === undefined) return `messages.${i}: Input should be an object`
    const role = message["role"]
    if (role !== "user" && role !== "assistant") {
      return `messages.${i}.role: Input should be 'user' or 'assistant'${role === "system" ? " (system prompts go in the top-level `system` parameter)" : ""}`
    }
    const content = message["content"]
    if (typeof content !== "string" && !Array.isArray(content)) return `messages.${i}.content: Field required`
    const blocks = blocksOf(content)
    for (const [j, block] of blocks.entries()) {
      if (typeof block["type"] !== "string" || !blockTypes.has(block["type"])) {
        return `messages.${i}.content.${j}.type: Input tag '${String(block["type"])}' does not match any of the expected tags`
      }
      // Only the final assistant turn (a prefill) may be empty (PROVIDERS.md); blank text is the API's 400 elsewhere.
      const problem = block["type"] === "text" && i < messages.length - 1 ? blank(block["text"]) : undefined
      if (problem === "empty") return `messages.${i}.content.${j}: text content blocks must be non-empty`
      if (problem === "whitespace") return `messages.${i}.content.${j}: text content blocks must contain non-whitespace text`
      const source = block["type"] === "document" ? asRecord(block["source"]) : undefined
      // A base64 document is a PDF only; plain text goes as a `text` source (the API's 400 otherwise).
      if (source?.["type"] === "base64" && source["media_type"] !== "application/pdf") {
        return `messages.${i}.content.${j}.source.base64.media_type: Input should be 'application/pdf'`
      }
      if (source?.["type"] === "text" && (source["media_type"] !== "text/plain" || typeof source["data"] !== "string")) {
        return `messages.${i}.content.${j}.source.text: media_type should be 'text/plain' and data a string`
      }
      if (block["type"] === "tool_use" && role !== "assistant") return `messages.${i}.content.${j}: tool_use blocks are only allowed in assistant messages`
      if (block["type"] === "tool_result" && role !== "user") return `messages.${i}.content.${j}: tool_result blocks are only allowed in user messages`
      if (block["type"] === "tool_use" && asRecord(block["input"]) === undefined) return `messages.${i}.content.${j}.input: Input should be a valid dictionary`
      if (block["type"] === "tool_use" && !/^[a-zA-Z0-9_-]+$/.test(String(block["id"]))) {
        return `messages.${i}.content.${j}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`
      }
      // Across the whole conversation, not only within one message (OpenAI takes a reused id in a later turn).
      if (block["type"] === "tool_use" && toolUseIds.has(String(block["id"]))) return `messages.${i}.content.${j}: \`tool_use\` ids must be unique`
      if (block["type"] === "tool_use") toolUseIds.add(String(block["id"]))
    }
    const firstOther = blocks.findIndex((b) => b["type"] !== "tool_result")
    if (firstOther >= 0 && blocks.slice(firstOther).some((b) => b["type"] === "tool_result")) {
      // "In the user message containing tool results, the tool_result blocks must come FIRST in the content array"
      // (https://platform.claude.com/docs/en/agents-and-tools/tool-use/handle-tool-calls).
      return `messages.${i}: \`tool_result\` blocks must come first in the content of a user message, before any other block`
    }
    const results = blocks.filter((b) => b["type"] === "tool_result").map((b) => String(b["tool_use_id"]))
    const unexpected = results.find((id) => !pending.includes(id))
    if (unexpected !== undefined) {
      return `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${unexpected}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`
    }
    const unanswered = pending.filter((id) => !results.includes(id))
    if (unanswered.length > 0) {
      return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
    }
    pending = role === "assistant" ? blocks.filter((b) => b["type"] === "tool_use").map((b) => String(b["id"])) : []
  }
  const userId = asRecord(body["metadata"])?.["user_id"]
  // An end-user id must be opaque (a uuid or a hash): the API refuses personal data in it.
  if (typeof userId === "string" && userId.includes("@")) {
    return "metadata.user_id: user_id appears to contain an email address. Please send a uuid or hash value instead."
  }
  if (typeof userId === "string" && /^\+?[\d ().-]{7,}$/.test(userId)) {
    return "metadata.user_id: user_id appears to contain a phone number. Please send a uuid or hash value instead."
  }
  if (typeof userId === "string" && userId.length > 256) return "metadata.user_id: String should have at most 256 characters"
  const output = body["output_config"]
  if (output !== undefined) {
    const config = asRecord(output)
    if (config === undefined) return "output_config: Input should be a valid dictionary"
    const effort = config["effort"]
    if (effort !== undefined && !efforts.includes(effort as string)) return "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
    const schema = asRecord(config["format"])?.["schema"]
    const problem = schema === undefined ? undefined : outputSchemaProblem(schema)
    if (problem !== undefined) return `output_config.format.schema: ${problem}`
  }
  const final = asRecord(messages[messages.length - 1])
  if (final?.["role"] === "assistant") {
    const blocks = blocksOf(final["content"])
    const text = typeof final["content"] === "string" ? final["content"] : blocks[blocks.length - 1]?.["text"]
    if (typeof text === "string" && text !== text.trimEnd()) return "messages: final assistant content cannot end with trailing whitespace"
  }
  const tools = body["tools"]
  // The real API's 400 for a history with tool blocks and no tool definitions (OpenAI takes such a history,
  // as an agent's final call without tools sends it); the message is the one clients report verbatim.
  const toolBlocks = messages.some((m) => blocksOf(asRecord(m)?.["content"]).some((b) => b["type"] === "tool_use" || b["type"] === "tool_result"))
  if (toolBlocks && (!Array.isArray(tools) || tools.length === 0)) return "Requests which include `tool_use` or `tool_result` blocks must define tools."
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return "tools: Input should be a valid list"
    for (const [i, tool] of tools.entries()) {
      const t = asRecord(tool)
      if (typeof t?.["name"] !== "string") return `tools.${i}.name: Field required`
      if (asRecord(t["input_schema"]) === undefined) return `tools.${i}.input_schema: Field required`
      if (asRecord(t["input_schema"])?.["type"] !== "object") return `tools.${i}.custom.input_schema.type: Field required`
    }
  }
  return undefined
}

/** The text blocks of content (string or blocks), joined by spaces. */
export const textOfContent = (content: unknown): string =>
  blocksOf(content).filter((b) => b["type"] === "text").map((b) => String(b["text"] ?? "")).join(" ")

/** The `tool_result` blocks of content. */
export const toolResultsOf = (content: unknown): ReadonlyArray<Record<string, unknown>> =>
  blocksOf(content).filter((b) => b["type"] === "tool_result")
