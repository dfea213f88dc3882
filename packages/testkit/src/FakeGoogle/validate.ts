/**
 * Request validation the way the Gemini API does it: unknown fields are a 400
 * ("Unknown name … Cannot find field"), roles are `user` / `model`, every
 * content has parts and every part exactly one data field.
 */
import { asRecord } from "../FakeServer/reply.js"

const topLevel = new Set(["contents", "systemInstruction", "generationConfig", "tools", "toolConfig", "safetySettings", "cachedContent", "labels"])
const generationFields = new Set([
  "temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "candidateCount", "seed", "presencePenalty",
  "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema", "thinkingConfig", "responseLogprobs", "logprobs"
])
const thinkingFields = new Set(["thinkingBudget", "thinkingLevel", "includeThoughts"])
const dataFields = ["text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"]
const partFields = new Set([...dataFields, "thought", "thoughtSignature", "videoMetadata"])

const unknownName = (where: string, name: string) =>
  `Invalid JSON payload received. Unknown name "${name}"${where === "" ? "" : ` at '${where}'`}: Cannot find field.`

const checkParts = (parts: unknown, where: string): string | undefined => {
  if (!Array.isArray(parts) || parts.length === 0) return `* GenerateContentRequest.${where}.parts: contents.parts must not be empty.`
  for (const [j, raw] of parts.entries()) {
    const part = asRecord(raw)
    if (part === undefined) return `* GenerateContentRequest.${where}.parts[${j}]: must be an object`
    const unknown = Object.keys(part).find((k) => !partFields.has(k))
    if (unknown !== undefined) return unknownName(`${where}.parts[${j}]`, unknown)
    const present = dataFields.filter((f) => part[f] !== undefined)
    if (present.length !== 1) return `* GenerateContentRequest.${where}.parts[${j}].data: required oneof field 'data' must have one initialized field`
    if (part["text"] !== undefined && (typeof part["text"] !== "string" || part["text"] === "")) {
      return `* GenerateContentRequest.${where}.parts[${j}].text: text must not be empty`
    }
    const call = asRecord(part["functionCall"])
    if (part["functionCall"] !== undefined && typeof call?.["name"] !== "string") return `* GenerateContentRequest.${where}.parts[${j}].function_call.name: Name cannot be empty.`
    const response = asRecord(part["functionResponse"])
    if (part["functionResponse"] !== undefined) {
      if (typeof response?.["name"] !== "string" || response["name"] === "") return `* GenerateContentRequest.${where}.parts[${j}].function_response.name: Name cannot be empty.`
      if (asRecord(response["response"]) === undefined) return `* GenerateContentRequest.${where}.parts[${j}].function_response.response: must be an object`
    }
  }
  return undefined
}

const countOf = (parts: unknown, field: string): number =>
  Array.isArray(parts) ? parts.filter((part) => asRecord(part)?.[field] !== undefined).length : 0

/** The problem with a generateContent body, or undefined when it is valid. */
export const validateGenerate = (json: unknown): string | undefined => {
  const body = asRecord(json)
  if (body === undefined) return "Invalid JSON payload received. Expected an object."
  const unknown = Object.keys(body).find((k) => !topLevel.has(k))
  if (unknown !== undefined) return unknownName("", unknown)
  const contents = body["contents"]
  if (!Array.isArray(contents) || contents.length === 0) return "* GenerateContentRequest.contents: contents is not specified"
  for (const [i, raw] of contents.entries()) {
    const content = asRecord(raw)
    if (content === undefined) return `* GenerateContentRequest.contents[${i}]: must be an object`
    const role = content["role"]
    if (role !== undefined && role !== "user" && role !== "model") {
      return `* GenerateContentRequest.contents[${i}].role: Please use a valid role: user, model.`
    }
    const problem = checkParts(content["parts"], `contents[${i}]`)
    if (problem !== undefined) return problem
    // A turn of function calls answers a user turn (text or function responses): first, or after another model turn, it is a 400.
    const previous = asRecord(contents[i - 1])
    if (countOf(content["parts"], "functionCall") > 0 && (previous === undefined || previous["role"] === "model")) {
      return "Please ensure that function call turn comes immediately after a user turn or after a function response turn."
    }
    // "One response per call, all in one turn, directly after the call turn" (PROVIDERS.md, Function calling).
    const calls = countOf(previous?.["parts"], "functionCall")
    const responses = countOf(content["parts"], "functionResponse")
    if (responses > 0 && responses !== calls) {
      return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
    }
  }
  const system = asRecord(body["systemInstruction"])
  if (body["systemInstruction"] !== undefined) {
    const problem = checkParts(system?.["parts"], "system_instruction")
    if (problem !== undefined) return problem
  }
  const config = asRecord(body["generationConfig"])
  if (config !== undefined) {
    const bad = Object.keys(config).find((k) => !generationFields.has(k))
    if (bad !== undefined) return unknownName("generation_config", bad)
    const thinking = asRecord(config["thinkingConfig"])
    if (thinking !== undefined) {
      const unknownThinking = Object.keys(thinking).find((k) => !thinkingFields.has(k))
      if (unknownThinking !== undefined) return unknownName("generation_config.thinking_config", unknownThinking)
      if (thinking["thinkingLevel"] !== undefined && thinking["thinkingBudget"] !== undefined) {
        return "* GenerateContentRequest.generation_config.thinking_config: thinking_budget and thinking_level cannot both be set."
      }
    }
    const stops = config["stopSequences"]
    if (Array.isArray(stops) && stops.length > 5) return "* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences are allowed."
    const t = config["temperature"]
    if (t !== undefined && (typeof t !== "number" || t < 0 || t > 2)) return "* GenerateContentRequest.generation_config.temperature: must be between 0 and 2"
  }
  const tools = body["tools"]
  if (tools !== undefined && !Array.isArray(tools)) return "* GenerateContentRequest.tools: must be a list"
  for (const [i, tool] of (Array.isArray(tools) ? tools : []).entries()) {
    const declarations = asRecord(tool)?.["functionDeclarations"]
    for (const [j, declaration] of (Array.isArray(declarations) ? declarations : []).entries()) {
      // FunctionDeclaration.name: a letter or `_` first; letters, digits, `_.:-`; at most 128 (PROVIDERS.md, Gemini tools).
      if (!/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$/.test(String(asRecord(declaration)?.["name"]))) {
        return `* GenerateContentRequest.tools[${i}].function_declarations[${j}].name: Invalid function name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum length of 128.`
      }
    }
  }
  return undefined
}
