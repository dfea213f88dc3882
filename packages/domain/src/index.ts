/**
 * @modelgate/domain: Schemas, branded ids, errors, events and records. No services.
 */
export * as Chat from "./Chat.js"
export * as Errors from "./Errors.js"
export * as Events from "./Events.js"
export * as Ids from "./Ids.js"
export * as Model from "./Model.js"
export * as ModelParameters from "./ModelParameters.js"
export * as Money from "./Money.js"
export * as ProviderError from "./ProviderError.js"
export * as RateLimitInfo from "./RateLimitInfo.js"
export * as Records from "./Records.js"
export * as Requirements from "./Requirements.js"
