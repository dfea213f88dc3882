/**
 * Preloaded into the gateway by `bench/memory.ts` (`node --expose-gc
 * --require ./bench/memory-probe.cjs ...`): answers IPC messages from the
 * parent.
 * - `{ cmd: "mem" }`: full GC, replies with `process.memoryUsage()`.
 * - `{ cmd: "snap", file }`: writes a heap snapshot, replies with its path.
 * - `{ cmd: "alloc-start" }` / `{ cmd: "alloc-stop", file }`: V8's sampling
 *   heap profiler, counting objects already collected too (so it shows what
 *   each request allocates, not only what it keeps); stop writes the
 *   `.heapprofile` (open it in Chrome DevTools) and replies with the bytes
 *   sampled per function, largest first.
 * The channel is unref'd so it never keeps the gateway alive.
 */
const v8 = require("node:v8")
const inspector = require("node:inspector")

/** Resident KiB in the brk heap (malloc) and in other anonymous mappings (mostly V8 pages), from /proc/self/smaps (Linux; zeros elsewhere). */
const maps = () => {
  const out = { brk: 0, anon: 0, other: 0 }
  try {
    let kind = "other"
    for (const line of require("node:fs").readFileSync("/proc/self/smaps", "utf8").split("\n")) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+ *(.*)$/.exec(line)
      if (head) kind = head[1] === "[heap]" ? "brk" : head[1] === "" ? "anon" : "other"
      else if (line.startsWith("Rss:")) out[kind] += Number(line.split(/\s+/)[1])
    }
  } catch {}
  return out
}

let session
const post = (method, params) =>
  new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))))

const bySelf = (profile) => {
  const self = new Map()
  const walk = (n) => {
    const f = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*node_modules\//, "").replace(/^.*\/(packages|apps)\//, "$1/")}:${n.callFrame.lineNumber + 1}`
    if (n.selfSize > 0) self.set(f, (self.get(f) ?? 0) + n.selfSize)
    for (const c of n.children) walk(c)
  }
  walk(profile.head)
  return [...self].sort((a, b) => b[1] - a[1])
}

if (process.send) {
  process.channel.unref()
  process.on("message", async (m) => {
    if (!m || typeof m !== "object") return
    if (m.cmd === "mem") {
      globalThis.gc()
      // V8 unmaps freed pages on a background thread: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 500))
      globalThis.gc()
      await new Promise((resolve) => setTimeout(resolve, 500))
      process.send({ cmd: "mem", usage: process.memoryUsage(), maps: maps() })
    } else if (m.cmd === "snap") {
      globalThis.gc()
      process.send({ cmd: "snap", file: v8.writeHeapSnapshot(m.file) })
    } else if (m.cmd === "alloc-start") {
      session = new inspector.Session()
      session.connect()
      await post("HeapProfiler.startSampling", {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        // `promoted`: leave out what scavenges free, keeping what lived long enough to reach old space.
        includeObjectsCollectedByMinorGC: m.promoted !== true
      })
      process.send({ cmd: "alloc-start" })
    } else if (m.cmd === "alloc-stop") {
      const { profile } = await post("HeapProfiler.stopSampling")
      session.disconnect()
      if (m.file) require("node:fs").writeFileSync(m.file, JSON.stringify(profile))
      process.send({ cmd: "alloc-stop", top: bySelf(profile).slice(0, m.top ?? 30) })
    }
  })
}
