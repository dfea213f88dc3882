/**
 * @modelgate/node: GatewayLive, every live layer assembled on Node.
 */
export * as GatewayLive from "./GatewayLive.js"
export * as ProvidersLive from "./ProvidersLive.js"
export * as HttpClientLive from "./HttpClientLive.js"
export * as Database from "./Database.js"
