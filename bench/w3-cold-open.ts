/**
 * W3 — cold open. A profile with 1,000 small documents plus the editing-trace document (typed as in
 * W4) is built once per system; then, in a fresh process each time, the system starts on it: time to
 * list the documents, time until the trace document's text is available, and peak memory.
 * Yjs has no anchor here: y-websocket keeps no client storage in Node (y-indexeddb is browser-only).
 */
import type { Report } from './lib/report.ts'
import { tempDir } from './lib/systems.ts'
import { spawnWorker } from './lib/workers.ts'
import { bytes, fmt, fmtRep, median, ratio, repeated } from './lib/stats.ts'
import { loadTrace, textAfter, TRACE_NAME } from './lib/trace.ts'
import { du } from './lib/du.ts'

export interface W3Config {
  docs: number
  traceKeys: number
  reps: number
}
export const W3_FULL: W3Config = { docs: 1000, traceKeys: Infinity, reps: 3 }
export const W3_SMOKE: W3Config = { docs: 20, traceKeys: 1000, reps: 1 }

interface Open {
  startMs: number
  listMs: number
  textMs: number
  editorMs: number
  /** Grapevine: the editor's load alone (A.load of doc.open's bytes), its minor page faults, and the same load again in that process. */
  loadMs?: number
  loadFaults?: number
  againMs?: number
  openBytes?: number
  listed: number
  length: number
  peak: number
}

export async function runW3(report: Report, cfg: W3Config): Promise<void> {
  const s = report.section('w3', 'W3 — cold open of a profile')
  const keys = Number.isFinite(cfg.traceKeys) ? cfg.traceKeys : loadTrace().keys.length
  const expectedLength = textAfter(keys).length
  const results: [string, Open[], number][] = []
  const systems = [
    { name: 'Grapevine', build: 'buildGrapevine', open: 'openGrapevine' },
    { name: 'automerge-repo + NodeFS (index document)', build: 'buildAutomergeRepo', open: 'openAutomergeRepo' },
  ]
  let baseline = NaN
  for (const sys of systems) {
    console.log(`W3: ${sys.name}…`)
    const dir = tempDir('w3')
    const builder = await spawnWorker('cold-open.ts', 'w3-build')
    let built: Record<string, unknown>
    try {
      built = await builder.call<Record<string, unknown>>(
        sys.build,
        { profileDir: dir, dir, docs: cfg.docs, traceKeys: keys, frameMs: 16 },
        300_000,
      )
    } finally {
      await builder.stop()
    }
    report.check(
      built['length'] === expectedLength,
      `W3 ${sys.name}: the built trace document has ${built['length']} of ${expectedLength} characters`,
    )
    const opens: Open[] = []
    for (let r = 0; r < cfg.reps; r++) {
      const w = await spawnWorker('cold-open.ts', 'w3-open')
      try {
        const o = await w.call<Open>(sys.open, { profileDir: dir, dir, ...built }, 120_000)
        report.check(o.listed === cfg.docs + 1, `W3 ${sys.name}: listed ${o.listed} of ${cfg.docs + 1} documents`)
        report.check(
          o.length === expectedLength,
          `W3 ${sys.name}: opened the trace document with ${o.length} of ${expectedLength} characters`,
        )
        opens.push(o)
      } catch (err) {
        report.check(false, `W3 ${sys.name} open failed: ${(err as Error).message.split('\n')[0]}`)
      } finally {
        await w.stop()
      }
    }
    results.push([sys.name, opens, du(dir)])
  }
  const idle = await spawnWorker('cold-open.ts', 'w3-baseline')
  let touch: { ms: number; faults: number; mib: number }
  try {
    baseline = await idle.call<number>('baseline')
    touch = await idle.call<{ ms: number; faults: number; mib: number }>('firstTouch')
  } finally {
    await idle.stop()
  }
  const gv = results[0]?.[1] ?? []
  const rows = results.map(([name, o, size], i) => [
    name,
    fmtRep(repeated(o.map((x) => x.startMs))),
    fmtRep(repeated(o.map((x) => x.listMs))),
    fmtRep(repeated(o.map((x) => x.textMs))),
    fmtRep(repeated(o.map((x) => x.editorMs))),
    bytes(median(o.map((x) => x.peak))),
    bytes(size),
    i === 0 || !gv.length ? '' : ratio(median(gv.map((x) => x.textMs)), median(o.map((x) => x.textMs))),
  ])
  report.headlines.push(
    `W3 cold open, ${cfg.docs.toLocaleString('en-US')} documents + the trace: ${results
      .map(
        ([name, o]) =>
          `${name}: listed ${fmt(median(o.map((x) => x.listMs)))} ms, trace text ${fmt(median(o.map((x) => x.textMs)))} ms, peak ${bytes(median(o.map((x) => x.peak)))}`,
      )
      .join('; ')}.`,
  )
  const am = results[1]
  if (am && results[0] && results[0][2] > am[2]) {
    s.findings.push(
      `**Where Grapevine is behind.** Opening is faster than automerge-repo (the listing is one SQL query over cached rows; the ` +
        `trace text comes from the content stored with its snapshot, with no Automerge load when nothing came after the snapshot), but the ` +
        `profile takes ${fmt(results[0][2] / am[2])}× the disk. Each of the 1,000 small documents keeps its first change sealed with ` +
        'its signature, hash and deps, and its author, document, epoch and membership state as numbers (a short note gets no snapshot: it loads from its change log; the ' +
        'trace document has a snapshot that also holds its content in clear for opening without a load); ' +
        "a reader's profile also keeps a full-text search index and the history index (editing sessions per document), which " +
        'automerge-repo has no counterpart of. The trace document, typed with no connection, is kept as runs (one sealed Automerge ' +
        'bundle and one signature per 1,024 changes). On close the WAL is checkpointed and truncated and free pages are given back. ' +
        "Per small document that is about 2 KB against automerge-repo's 0.3–0.4 KB: the signed, sealed change with its row and " +
        'indexes (about 0.7 KB), the listing row, the search index (the text again, and its tokens) and the history session. ' +
        '"Editor replica loaded" is one Automerge load of the ' +
        "whole history in the editor, from the bytes `doc.open` hands out (the snapshot's, without a load in the peer); what it spends is below. " +
        'Peak memory is taken once the text is available, before `doc.open`.',
    )
  }
  const loads = gv.filter((o) => o.loadMs !== undefined)
  if (loads.length) {
    const loadMs = median(loads.map((o) => o.loadMs!))
    const faults = median(loads.map((o) => o.loadFaults!))
    const againMs = median(loads.map((o) => o.againMs!))
    const perFault = touch.ms / Math.max(1, touch.faults)
    s.findings.push(
      `**What the editor replica's load spends.** The editor's load of the trace document (\`A.load\` of \`doc.open\`'s ` +
        `${bytes(median(loads.map((o) => o.openBytes!)))}) took ${fmt(loadMs)} ms with ${faults.toLocaleString('en-US')} minor page faults (median of the opens): ` +
        `Automerge's heap grows by about ${bytes(faults * 4096)} while it builds the document, and the kernel maps each new 4 KiB page ` +
        `on first touch. The same load again in the same process, into memory the first one freed, took ${fmt(againMs)} ms. ` +
        `Touching fresh memory costs this machine ${fmt(perFault * 1000)} µs per page (${fmt(touch.mib)} MiB of new WebAssembly memory, ` +
        `${touch.faults.toLocaleString('en-US')} faults in ${fmt(touch.ms)} ms, measured in the same run), so about ` +
        `${fmt(faults * perFault)} ms of the load is the kernel mapping pages; the rest is Automerge building the document, the first time with its code cold (V8 compiles a WebAssembly ` +
        'function optimized only once it has run often, v8.dev/blog/wasm-dynamic-tiering; the load is a few long calls). ' +
        'A virtual machine pays its hypervisor for each such fault; where a fault costs a few tenths of a microsecond, the same ' +
        'faults take a few milliseconds. No call of ours is in that part: the bytes are the snapshot as stored, loaded once.',
    )
  }
  s.tables.push({
    title: `W3 — cold open: ${cfg.docs.toLocaleString('en-US')} documents + the ${keys.toLocaleString('en-US')}-keystroke ${TRACE_NAME} trace document (ms from process start of the system)`,
    headers: ['system', 'started', 'listed', 'trace text available', 'editor replica loaded', 'peak RSS', 'on disk', 'GV÷ text'],
    rows,
    notes: [
      `${cfg.reps} fresh processes per system: median (min–max). The OS file cache is warm (the profile was just written); a reboot-cold disk adds reads.`,
      'Grapevine: createPeer as the desktop app’s peer starts (`awaitNetwork: false`: ready once the profile is open, libp2p starting behind it; SQLite checks and migrations), doc.list, doc.read of the trace document (snapshot + later changes, loaded by the peer); then doc.open and A.load of the bytes, what the editor does (in the app, in the window’s editor worker).',
      'automerge-repo: a new Repo on the NodeFS folder, find() of an index document listing the URLs (automerge-repo has no listing of its own), then find() of the trace document.',
      `Peak RSS: VmHWM of the process after the text is available, including Node and the loaded modules (a worker that only loaded them peaks at ${bytes(baseline)}).`,
    ],
  })
}
