/**
 * Opt-in Effect op and fiber counters for the micro benchmarks: patches the
 * installed `effect` runtime (node_modules/effect/dist/esm/internal/fiberRuntime.js)
 * so that every fiber created and every op its run loop executes is counted in
 * `globalThis.__mg = { fibers, ops, stacks }` (stacks: a sampled JS stack of
 * every 50th fiber created, by count). The micro benchmarks print ops and
 * fibers per call from it (zeros when the runtime is not patched). Op counts
 * are exact and free of timing noise: the way to compare two versions of a
 * request path on a shared machine.
 *
 *   node bench/effect-counters.mjs          # patch (idempotent)
 *   node bench/effect-counters.mjs --revert # restore the original file
 *
 * Revert before timing anything that matters: the counters cost a little.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const file = path.join(root, "node_modules/effect/dist/esm/internal/fiberRuntime.js")
const backup = `${file}.orig`
const marker = "globalThis.__mg"

if (process.argv.includes("--revert")) {
  if (fs.existsSync(backup)) {
    fs.copyFileSync(backup, file)
    fs.rmSync(backup)
  }
  process.stdout.write("effect runtime: counters removed\n")
  process.exit(0)
}

const source = fs.readFileSync(file, "utf8")
if (source.includes(marker)) {
  process.stdout.write("effect runtime: counters already in place\n")
  process.exit(0)
}
const onFiber = `  constructor(fiberId, fiberRefs0, runtimeFlags0) {
    super();`
const onOp = `      try {
        // @ts-expect-error
        cur = this.currentTracer.context(() => {`
if (!source.includes(onFiber) || !source.includes(onOp)) {
  process.stderr.write(`effect runtime: ${file} does not look as expected (another effect version?); not patched\n`)
  process.exit(1)
}
const patched = source
  .replace(onFiber, `${onFiber}
    const g = (globalThis.__mg ??= { fibers: 0, ops: 0, stacks: new Map() });
    g.fibers++;
    if (g.fibers % 50 === 0) {
      const st = (new Error().stack ?? "").split("\\n").slice(2, 9).map((l) => l.trim()).join(" <- ");
      g.stacks.set(st, (g.stacks.get(st) ?? 0) + 1);
    }`)
  .replace(onOp, `      globalThis.__mg.ops++;
${onOp}`)
fs.copyFileSync(file, backup)
fs.writeFileSync(file, patched)
process.stdout.write("effect runtime: counters in place (revert with --revert)\n")
