/**
 * modelgate: the gateway app (HTTP server, CLI, demo).
 */
/** The HTTP server as layers (`layer`, `serve`) and the app. */
export * as HttpApp from "./HttpApp.js"
/** The CLI commands. */
export * as Commands from "./cli/Commands.js"
