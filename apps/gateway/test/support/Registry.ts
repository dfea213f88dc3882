/**
 * The two-model registry of the end-to-end tests: gpt-4o-mini (openai, falls
 * back to claude-haiku) and claude-haiku (anthropic), with the given limits.
 */
export const twoModels = (
  source: string,
  limits: { readonly openai: { readonly rpm: number; readonly tpm: number }; readonly anthropic: { readonly rpm: number; readonly tpm: number } }
) => ({
  source,
  models: [
    {
      id: "gpt-4o-mini",
      provider: "openai",
      providerModel: "gpt-4o-mini",
      displayName: "GPT-4o mini",
      qualityTier: "standard",
      capabilities: ["chat", "streaming"],
      contextWindow: 128000,
      maxOutputTokens: 16384,
      pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
      rateLimits: limits.openai,
      qualityScore: 0.7,
      fallbacks: ["claude-haiku"]
    },
    {
      id: "claude-haiku",
      provider: "anthropic",
      providerModel: "claude-haiku-4-5",
      displayName: "Claude Haiku 4.5",
      qualityTier: "standard",
      capabilities: ["chat", "streaming"],
      contextWindow: 200000,
      maxOutputTokens: 8192,
      pricing: { inputPerMillion: 1, outputPerMillion: 5 },
      rateLimits: limits.anthropic,
      qualityScore: 0.72
    }
  ]
})
