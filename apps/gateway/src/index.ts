/**
 * modelgate: the gateway app (HTTP server, CLI, demo).
 */
export {}
