/**
 * Which Gemini generation a model id names: what Gemini 3 changed on the wire
 * (thought signatures it requires, JSON output beside function calling it
 * takes) is decided by this one test.
 */

/** Whether a model id (with or without `models/`) is Gemini 3 or later (`gemini-3-pro-preview`, `gemini-3.5-flash`, `gemini-4-...`). */
export const fromGemini3 = (model: string): boolean => /^(?:models\/)?gemini-([3-9]|\d\d)/.test(model)
