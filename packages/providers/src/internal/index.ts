/**
 * Internal building blocks shared by the adapters (not part of the public API).
 */
export * from "./adapter.js"
export * from "./content.js"
export * from "./dataUrl.js"
export * from "./errors.js"
export * from "./headers.js"
export * from "./http.js"
export * from "./pull.js"
export * from "./reasoning.js"
export * from "./retry.js"
export * from "./sse.js"
export * from "./usage.js"
