/**
 * Where the configuration directory is when no one names it: `MODELGATE_CONFIG_DIR`,
 * unset or blank meaning `config` (of the working directory), for every file
 * read from it (`gateway.json`, `models.json`, `environments/`).
 */
import { Config, Option } from "effect"

/** The default configuration directory, relative to the working directory. */
export const defaultDirectory = "config"

/** `MODELGATE_CONFIG_DIR`, or `fallback` when it is unset or blank (`MODELGATE_CONFIG_DIR=` in `.env`). */
export const directoryFromEnv = (fallback: string = defaultDirectory): Config.Config<string> =>
  Config.map(Config.option(Config.string("MODELGATE_CONFIG_DIR")), (dir) => Option.getOrElse(Option.filter(dir, (d) => d.trim() !== ""), () => fallback))

/** The file `name` of `directory` (`""` is the working directory: `name` alone, never `/name`). */
export const fileIn = (directory: string, name: string): string =>
  directory === "" ? name : `${directory.replace(/[\\/]+$/, "")}/${name}`
