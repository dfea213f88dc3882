/**
 * The selection input of a chat request, as the gateway ranks it: used by the
 * request path and by the admin dry run (`POST /admin/select`), so the two
 * rank alike.
 */
import { cacheWritesAsked, type ChatRequest } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import type { SelectionInput } from "../ModelSelector.js"
import { type Providers, unsupportedOn } from "../Provider.js"
import { defaultMaxOutputTokens, estimatePromptTokens, roughPromptTokens } from "../TokenEstimator.js"

/**
 * What `request` asks of the ranking: exact prompt tokens for a named model
 * (`explicit`; for `auto`, the chars / 4 heuristic: `roughPromptTokens`), the output per choice (and whether the
 * request named it) and the `n` choices, the named model and its fallbacks
 * as `only`, and what each model cannot serve (when `providers` is given).
 */
export const selectionInputOf = (
  request: ChatRequest,
  requirements: TaskRequirements,
  explicit: ModelMetadata | undefined,
  providers: Providers["Type"] | undefined,
  requestId?: string
): SelectionInput => ({
  requirements,
  estimatedPromptTokens: explicit === undefined ? roughPromptTokens(request) : estimatePromptTokens(request, explicit),
  maxOutputTokens: request.max_completion_tokens ?? request.max_tokens ?? defaultMaxOutputTokens,
  outputTokensAsked: request.max_completion_tokens ?? request.max_tokens ?? undefined,
  choices: request.n ?? 1,
  cacheWrites: cacheWritesAsked(request),
  only: explicit === undefined ? undefined : [explicit.id, ...explicit.fallbacks],
  requestId,
  unsupported: providers === undefined ? undefined : (model) => unsupportedOn(providers, request, model)?.reason
})
