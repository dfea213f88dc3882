/**
 * A provider's 400 that says the model cannot take what the request has
 * (images, tools, a sampling parameter, thinking, a system instruction, a
 * request larger than this API takes) is the model's limit, not a malformed
 * request: another candidate may serve it. Each adapter classifies it as a
 * `BadRequest` with `modelRefused`, which failover moves past (answering it
 * to the client only when every candidate refused). A 400 about the request
 * itself stays a plain BadRequest. Bodies as the providers send them.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { classifyAnthropic } from "../src/Anthropic/Errors.js"
import { classifyGoogle } from "../src/Google/Errors.js"
import { classify as classifyOllama, classifyStreamError as ollamaStreamError } from "../src/Ollama/errors.js"
import { classify as classifyOpenAi, classifyStreamError as openAiStreamError } from "../src/OpenAi/errors.js"
import { errorContextOf } from "./internal/fixtures.js"

const info = { model: "m", keyId: "k#1", secrets: [] }
const refused = (e: ProviderError) => e._tag === "BadRequest" && e.modelRefused === true

const openai = (message: string, param: string | null, code: string | null) =>
  JSON.stringify({ error: { message, type: "invalid_request_error", param, code } })
const anthropic = (type: string, message: string) => JSON.stringify({ type: "error", error: { type, message }, request_id: "req_1" })
const google = (message: string) => JSON.stringify({ error: { code: 400, message, status: "INVALID_ARGUMENT" } })
const ollama = (message: string) => JSON.stringify({ error: message })

describe("a 400 that is the model's limit, not the request's fault", () => {
  it("OpenAI: unsupported parameter or value, images on a text-only model", () => {
    for (
      const body of [
        openai("Unsupported parameter: 'temperature' is not supported with this model.", "temperature", "unsupported_parameter"),
        openai("Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.", "temperature", "unsupported_value"),
        openai("Invalid content type. image_url is only supported by certain models.", "messages.[0].content.[1].type", null),
        openai("This model does not support image input.", null, null),
        openai("tools is not supported in this model. For a list of supported models, refer to https://platform.openai.com/docs/guides/function-calling#models-supporting-function-calling.", "tools", null)
      ]
    ) {
      const error = classifyOpenAi(errorContextOf("openai", info, 400, body))
      assert.isTrue(refused(error), `${error._tag}: ${error.message}`)
    }
    const inStream = openAiStreamError(
      { message: "Unsupported parameter: 'tools' is not supported with this model.", type: "invalid_request_error", param: "tools", code: "unsupported_parameter" },
      { provider: "openai", model: "m", status: undefined, requestId: undefined, rateLimit: undefined },
      []
    )
    assert.isTrue(refused(inStream), inStream.message)
    const malformed = classifyOpenAi(errorContextOf("openai", info, 400, openai("Missing required parameter: 'messages[1].content'.", "messages[1].content", "missing_required_parameter")))
    assert.isTrue(malformed._tag === "BadRequest" && malformed.modelRefused !== true, malformed.message)
  })

  it("Anthropic: prefill or sampling the model refuses, a request, image, PDF or JSON schema over the API's limits", () => {
    for (
      const [status, body] of [
        [400, anthropic("invalid_request_error", "This model does not support assistant message prefill. The conversation must end with a user message.")],
        [400, anthropic("invalid_request_error", "`temperature` and `top_p` cannot both be specified for this model. Please use only one.")],
        [413, anthropic("request_too_large", "Request exceeds the maximum allowed number of bytes.")],
        // An image or PDF over the Messages API's own limits, which OpenAI and Gemini take.
        [400, anthropic("invalid_request_error", "messages.0.content.1.image.source.base64: image exceeds 5 MB maximum: 6275800 bytes > 5242880 bytes")],
        [400, anthropic("invalid_request_error", "messages.0.content.1.image.source.base64.data: At least one of the image dimensions exceed max allowed size: 8000 pixels")],
        [400, anthropic("invalid_request_error", "messages.0.content.0.pdf.source.base64.data: A maximum of 100 PDF pages may be provided.")],
        // A response_format schema structured outputs cannot compile (recursive, too large), which OpenAI and Gemini take.
        [400, anthropic("invalid_request_error", "output_config.format.schema: Too many recursive definitions in schema")],
        [400, anthropic("invalid_request_error", "Schema is too complex for compilation. Simplify the schema or reduce the number of strict tools.")]
      ] as const
    ) {
      const error = classifyAnthropic(errorContextOf("anthropic", info, status, body))
      assert.isTrue(refused(error), `${error._tag}: ${error.message}`)
    }
    const malformed = classifyAnthropic(errorContextOf("anthropic", info, 400, anthropic("invalid_request_error", "messages: Field required")))
    assert.isTrue(malformed._tag === "BadRequest" && malformed.modelRefused !== true, malformed.message)
  })

  it("Gemini: a feature not enabled for the model, thinking it cannot turn off, a schema over its limit", () => {
    for (
      const body of [
        google("Developer instruction is not enabled for models/gemma-3-27b-it"),
        google("Function calling is not enabled for models/gemma-3-27b-it"),
        google("Budget 0 is invalid. This model only works in thinking mode."),
        // A response_format or tool schema over Gemini's constrained-decoding limit, which OpenAI and Anthropic take.
        google("The specified schema produces a constraint that has too many states for serving. Typical causes of this error are schemas with lots of text (for example, very long property or enum names), schemas with long array length limits (especially when nested), or schemas using complex value matchers (for example, integers or numbers with minimum/maximum bounds or strings with complex formats like date-time)")
      ]
    ) {
      const error = classifyGoogle(errorContextOf("google", info, 400, body))
      assert.isTrue(refused(error), `${error._tag}: ${error.message}`)
    }
    const malformed = classifyGoogle(errorContextOf("google", info, 400, google("Request contains an invalid argument.")))
    assert.isTrue(malformed._tag === "BadRequest" && malformed.modelRefused !== true, malformed.message)
  })

  it("Ollama: a model without tools or thinking", () => {
    for (const body of [ollama("registry.ollama.ai/library/gemma:2b does not support tools"), ollama("\"llama3.2\" does not support thinking")]) {
      const error = classifyOllama(errorContextOf("ollama", { ...info, keyId: undefined }, 400, body))
      assert.isTrue(refused(error), `${error._tag}: ${error.message}`)
    }
    const inStream = ollamaStreamError("\"gemma:2b\" does not support tools", { provider: "ollama", model: "m", status: undefined, requestId: undefined, rateLimit: undefined }, [])
    assert.isTrue(refused(inStream), inStream.message)
    const malformed = classifyOllama(errorContextOf("ollama", { ...info, keyId: undefined }, 400, ollama("json: cannot unmarshal array into Go struct field ChatRequest.messages.content of type string")))
    assert.isTrue(malformed._tag === "BadRequest" && malformed.modelRefused !== true, malformed.message)
  })
})
