/**
 * The selection input of a chat request, as the gateway ranks it: used by the
 * request path and by the admin dry run (`POST /admin/select`), so the two
 * rank alike.
 */
import { cacheWritesAsked, type ChatRequest } from "@modelgate/domain/Chat"
import type { Capability, ModelMetadata } from "@modelgate/domain/Model"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { heldAudioTokens } from "../CostTracker/Price.js"
import type { SelectionInput } from "../ModelSelector.js"
import { type Providers, unsupportedOn } from "../Provider.js"
import { defaultMaxOutputTokens, estimatePromptTokens, roughPromptTokens } from "../TokenEstimator.js"

const hasImage = (request: ChatRequest): boolean =>
  request.messages.some((m) => m.role === "user" && typeof m.content !== "string" && m.content.some((p) => p.type === "image_url"))

/**
 * The capabilities the request's content needs: tools (tools offered and not
 * `tool_choice: "none"`), json_mode (a JSON `response_format`), streaming
 * (`stream: true`), vision (an image part).
 */
export const impliedCapabilities = (request: ChatRequest): ReadonlyArray<Capability> => {
  const implied: Array<Capability> = []
  if (request.tools !== undefined && request.tools.length > 0 && request.tool_choice !== "none") implied.push("tools")
  if (request.response_format !== undefined && request.response_format.type !== "text") implied.push("json_mode")
  if (request.stream === true) implied.push("streaming")
  if (hasImage(request)) implied.push("vision")
  return implied
}

/**
 * What `request` asks of the ranking: exact prompt tokens for a named model
 * (`explicit`; for `auto`, the by-script heuristic: `roughPromptTokens`), the output per choice (and whether the
 * request named it) and the `n` choices, the named model and its fallbacks
 * as `only` (the fallbacks held to what the request's content needs:
 * `fallbackCapabilities`, read only when there are fallbacks), and what each
 * model cannot serve (when `providers` is given).
 */
export const selectionInputOf = (
  request: ChatRequest,
  requirements: TaskRequirements,
  explicit: ModelMetadata | undefined,
  providers: Providers["Type"] | undefined,
  requestId?: string,
  onTrialClaimed?: SelectionInput["onTrialClaimed"]
): SelectionInput => ({
  requirements,
  estimatedPromptTokens: explicit === undefined ? roughPromptTokens(request) : estimatePromptTokens(request, explicit),
  maxOutputTokens: request.max_completion_tokens ?? request.max_tokens ?? defaultMaxOutputTokens,
  outputTokensAsked: request.max_completion_tokens ?? request.max_tokens ?? undefined,
  choices: request.n ?? 1,
  cacheWrites: cacheWritesAsked(request),
  heldAudioTokens: (model) => heldAudioTokens(request, model),
  only: explicit === undefined ? undefined : [explicit.id, ...explicit.fallbacks],
  fallbackCapabilities: explicit === undefined || explicit.fallbacks.length === 0 ? undefined : impliedCapabilities(request),
  requestId,
  unsupported: providers === undefined ? undefined : (model) => unsupportedOn(providers, request, model)?.reason,
  onTrialClaimed
})
