/**
 * Gemini's thought signatures, kept for the tool calls they came with. An
 * OpenAI client sends its tool calls back without them, and Gemini 3 refuses
 * a function-call turn that lacks its signature (a 400): the adapter keeps
 * each signature under the id it gave the tool call and sends it back with
 * that call, to the model that wrote it (a signature is valid for that model
 * only).
 */

/** Gemini's documented stand-in for history its model did not write (another model's tool calls, or one forgotten here). */
export const unsignedHistory = "skip_thought_signature_validator"

/** Models that refuse a function-call turn without its signature (Gemini 3 and later; with or without the `models/` prefix). */
export const requiresSignatures = (model: string): boolean => /^(?:models\/)?gemini-([3-9]|\d\d)/.test(model)

/** The thought signatures of recent tool calls, bounded. */
export interface ThoughtSignatures {
  /** Keep the signature `model` gave with tool call `toolCallId`. */
  readonly remember: (model: string, toolCallId: string, signature: string) => void
  /**
   * The signature to send with tool call `toolCallId` to `model`: the one it
   * gave; for the first call of a turn on a model that requires one and
   * without it, Gemini's stand-in; else none.
   */
  readonly forCall: (model: string, toolCallId: string, firstOfTurn: boolean) => string | undefined
}

/** A store of the last `capacity` signatures (the oldest is forgotten first). */
export const make = (capacity = 10_000): ThoughtSignatures => {
  const kept = new Map<string, { readonly model: string; readonly signature: string }>()
  return {
    remember: (model, toolCallId, signature) => {
      kept.delete(toolCallId)
      kept.set(toolCallId, { model, signature })
      if (kept.size > capacity) kept.delete(kept.keys().next().value!)
    },
    forCall: (model, toolCallId, firstOfTurn) => {
      const found = kept.get(toolCallId)
      if (found !== undefined && found.model === model) return found.signature
      return firstOfTurn && requiresSignatures(model) ? unsignedHistory : undefined
    }
  }
}
