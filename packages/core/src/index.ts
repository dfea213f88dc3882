/**
 * @modelgate/core: every subsystem service, its memory store, and the Gateway.
 */
export * as ApiKeys from "./ApiKeys.js"
export * as CostTracker from "./CostTracker.js"
export * as Events from "./Events.js"
export * as Failover from "./Failover.js"
export * as Gateway from "./Gateway.js"
export * as GatewayConfig from "./GatewayConfig.js"
export * as GatewayConfigSchema from "./GatewayConfigSchema.js"
export * as HealthChecker from "./HealthChecker.js"
export * as ModelRegistry from "./ModelRegistry.js"
export * as ModelSelector from "./ModelSelector.js"
export * as PerformanceMonitor from "./PerformanceMonitor.js"
export * as Provider from "./Provider.js"
export * as RateLimiter from "./RateLimiter.js"
export * as RecordSink from "./RecordSink.js"
export * as ResponseCache from "./ResponseCache.js"
export * as ResponseEvaluator from "./ResponseEvaluator.js"
