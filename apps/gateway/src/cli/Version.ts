/** The version of modelgate: the CLI's `--version` and the `service.version` of its traces. */
export const version = "0.1.0"
