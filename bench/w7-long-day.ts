/**
 * W7 — a long day: P Grapevine peers (real `createPeer` peers, each in its own process, joined by
 * invites and dialled into a mesh as in W1) share D documents; T typists (editors in processes of
 * their own over their peers' control sockets, as the app's renderer) type at a human rate into
 * random documents for the whole duration. Every peer has every document open in a client replica
 * and records when each change (actor:seq) became visible there. The parent samples each peer
 * process's CPU time and RSS from /proc every few seconds (nothing crosses the peers' IPC channel
 * while typing); afterwards it takes the visibility times and checks that every document converged.
 */
import type { Report } from './lib/report.ts'
import { grapevinePeers } from './lib/systems.ts'
import { spawnWorker, stopAll, type Worker } from './lib/workers.ts'
import { procSample, slope } from './lib/proc.ts'
import { fmt, now, percentile, summarize } from './lib/stats.ts'
import { lineChart, stackCharts } from './lib/svg.ts'
import { sleep, until } from './lib/serve.ts'

export interface W7Config {
  peers: number
  docs: number
  typists: number
  durationMs: number
  /** How often CPU and RSS are sampled. */
  sampleMs: number
  /** The latency windows ("per minute" at full size). */
  windowMs: number
}

export const W7_FULL: W7Config = { peers: 8, docs: 50, typists: 4, durationMs: 600_000, sampleMs: 10_000, windowMs: 60_000 }
export const W7_SMOKE: W7Config = { peers: 4, docs: 6, typists: 2, durationMs: 4_000, sampleMs: 1_000, windowMs: 2_000 }

const INITIAL_TEXT = 'Notes for the day.\n\nA first paragraph that people will type into, here and there, all day long.\n'
const MB = 1024 * 1024

interface Sample {
  /** ms since typing started (negative: the idle baseline before it). */
  at: number
  cpuMs: number
  rss: number
}

/** Median (min–max) over peers of how many MiB `key` grew between two readings. */
type Memory = NodeJS.MemoryUsage & { rssAnon: number; rssFile: number }
function growth(a: Memory[], b: Memory[], key: keyof Memory): string {
  const d = a.map((x, i) => (b[i]![key] - x[key]) / MB).sort((p, q) => p - q)
  return `${fmt(d[d.length >> 1]!)} (${fmt(d[0]!)}–${fmt(d.at(-1)!)})`
}

const windowLabel = (w: number, ms: number): string =>
  ms % 60_000 === 0 ? `min ${(w * ms) / 60_000}–${((w + 1) * ms) / 60_000}` : `${(w * ms) / 1000}–${((w + 1) * ms) / 1000} s`

export async function runW7(report: Report, cfg: W7Config): Promise<void> {
  const s = report.section('w7', `W7 — a long day: ${cfg.peers} peers, ${cfg.docs} documents, ${cfg.typists} typists`)
  const workers: Worker[] = []
  const editors: Worker[] = []
  try {
    console.log(`W7: ${cfg.peers} peers, ${cfg.docs} documents, ${cfg.typists} typists for ${cfg.durationMs / 1000} s…`)
    const lifetimeMs = cfg.durationMs + 10 * 60_000
    const g = await grapevinePeers(cfg.peers, { doc: false, lifetimeMs })
    workers.push(...g.workers)
    const ws = g.ids.workspaceId
    const ids = await workers[0]!.call<string[]>('createDocs', { workspaceId: ws, count: cfg.docs, text: INITIAL_TEXT }, 120_000)
    await Promise.all(
      workers.map(async (w) => {
        for (const id of ids) await w.call('waitDoc', { workspaceId: ws, docId: id, timeoutMs: 60_000 }, 70_000)
      }),
    )
    await Promise.all(workers.map((w) => w.call('watchDocs', { ids }, 120_000)))
    // Typists on every other peer from the last (never the owner's), each editor in its own process.
    if (2 * cfg.typists > cfg.peers) throw new Error('W7 puts a typist on every other peer: at most peers/2 typists')
    const typistPeer = Array.from({ length: cfg.typists }, (_, t) => cfg.peers - 1 - 2 * t)
    await Promise.all(
      typistPeer.map(async (p, t) => {
        const profileDir = await workers[p]!.call<string>('serveSocket')
        const e = await spawnWorker('gv-client.ts', `w7-typist${t}`, { lifetimeMs })
        editors[t] = e
        await e.call('start', { profileDir })
      }),
    )

    // CPU and RSS of every peer, from /proc: an idle baseline interval, then every sampleMs while typing.
    const samples: Sample[][] = workers.map(() => [])
    const editorSamples: Sample[][] = editors.map(() => [])
    let t0 = now()
    const take = (): void => {
      const at = now() - t0
      workers.forEach((w, i) => {
        const x = procSample(w.pid)
        if (x) samples[i]!.push({ at, ...x })
      })
      editors.forEach((w, i) => {
        const x = procSample(w.pid)
        if (x) editorSamples[i]!.push({ at, ...x })
      })
    }
    const baselineMs = Math.min(cfg.sampleMs, 10_000)
    t0 = now() + baselineMs
    take()
    await sleep(baselineMs)
    t0 = now()
    // Where the memory is (V8's heap, array buffers, external), before and after typing. Automerge's WebAssembly
    // memory is counted in none of them; glibc's C heap (what outgrew the rest here) in RSS only: bench/README.md.
    const memory = (): Promise<Memory[]> => Promise.all(workers.map((w) => w.call<Memory>('memory')))
    const heapDir = process.env['BENCH_W7_HEAP']
    const snapshot = async (tag: string): Promise<void> => {
      if (heapDir)
        await Promise.all([0, 2].map((i) => workers[i]?.call('heapSnapshot', { path: `${heapDir}/peer${i}-${tag}.heapsnapshot` }, 120_000)))
    }
    await snapshot('start')
    const memStart = await memory()
    t0 = now()
    take()
    const sampler = setInterval(take, cfg.sampleMs)
    let keys: [number, string, number][][] = []
    try {
      keys = await Promise.all(
        editors.map((e, t) =>
          e.call<[number, string, number][]>('typeDay', { ids, durationMs: cfg.durationMs, seed: 9000 + t }, cfg.durationMs + 180_000),
        ),
      )
    } finally {
      clearInterval(sampler)
    }
    take()
    const typedFor = now() - t0
    const memEnd = await memory()
    await snapshot('end')

    // Converged: every peer's replica of every document holds the same text.
    let texts: Record<string, string>[] = []
    try {
      await until(
        'every document equal on every peer',
        async () => {
          texts = await Promise.all(workers.map((w) => w.call<Record<string, string>>('watchedTexts')))
          return ids.every((id) => texts.every((t) => t[id] === texts[0]![id]))
        },
        60_000,
        500,
      )
    } catch {
      // reported below
    }
    const differ = ids.filter((id) => !texts.every((t) => t[id] === texts[0]?.[id]))
    report.check(differ.length === 0, `W7: every document is equal on all ${cfg.peers} peers (${differ.length} differ)`)
    const seen = (await Promise.all(workers.map((w) => w.call<[string, number][]>('takeSeen')))).map((e) => new Map(e))

    // Edit → visible, at every peer but the typist's own.
    const total = keys.reduce((a, k) => a + k.length, 0)
    report.check(total > 0, `W7: the typists typed (${total} keystrokes)`)
    const windows = Math.ceil(cfg.durationMs / cfg.windowMs)
    const byWindow: number[][] = Array.from({ length: windows }, () => [])
    const keysByWindow = new Array<number>(windows).fill(0)
    const byPeer: number[][] = workers.map(() => [])
    let missing = 0
    keys.forEach((ks, t) => {
      for (const [, key, at] of ks) {
        const w = Math.min(windows - 1, Math.max(0, Math.floor((at - t0) / cfg.windowMs)))
        keysByWindow[w]!++
        seen.forEach((m, p) => {
          if (p === typistPeer[t]) return
          const v = m.get(key)
          if (v === undefined) {
            missing++
            return
          }
          byWindow[w]!.push(v - at)
          byPeer[p]!.push(v - at)
        })
      }
    })
    report.check(missing === 0, `W7: every keystroke became visible on every other peer (${missing} deliveries missing)`)

    // Per peer: CPU % per sample interval, RSS; slopes over the typing period.
    const series = (xs: Sample[]): { cpu: [number, number][]; rss: [number, number][] } => {
      const cpu: [number, number][] = []
      for (let i = 1; i < xs.length; i++) {
        const a = xs[i - 1]!
        const b = xs[i]!
        if (b.at - a.at > 0) cpu.push([(a.at + b.at) / 2 / 60_000, (100 * (b.cpuMs - a.cpuMs)) / (b.at - a.at)])
      }
      return { cpu, rss: xs.map((x) => [x.at / 60_000, x.rss / MB] as [number, number]) }
    }
    const w1p99 = report.figures.get(`w1.grapevine.typingP99.n${cfg.peers}`)
    const perPeer = workers.map((_, i) => series(samples[i]!))
    const rows = perPeer.map((sr, i) => {
      const typing = sr.cpu.filter(([m]) => m > 0)
      const idle = sr.cpu.filter(([m]) => m <= 0)
      const cpuMean = typing.length ? typing.reduce((a, [, v]) => a + v, 0) / typing.length : NaN
      const rssTyping = sr.rss.filter(([m]) => m >= 0)
      const lat = summarize(byPeer[i]!)
      const who = [i === 0 ? 'owner' : '', typistPeer.includes(i) ? `typist ${typistPeer.indexOf(i) + 1}` : ''].filter(Boolean).join(', ')
      return [
        `peer ${i}`,
        who,
        fmt(idle[0]?.[1] ?? NaN),
        fmt(cpuMean),
        fmt(typing.length ? Math.max(...typing.map(([, v]) => v)) : NaN),
        fmt(slope(typing)),
        fmt(rssTyping[0]?.[1] ?? NaN),
        fmt(rssTyping.at(-1)?.[1] ?? NaN),
        fmt(slope(rssTyping)),
        fmt(lat.p50),
        fmt(lat.p99),
        fmt(lat.max),
      ]
    })
    const allLat = byPeer.flat()
    const a = summarize(allLat)
    rows.push(['all peers', '', '', '', '', '', '', '', '', fmt(a.p50), fmt(a.p99), fmt(a.max)])
    const editorCpu = editorSamples.map((xs) => {
      const sr = series(xs).cpu.filter(([m]) => m > 0)
      return sr.length ? sr.reduce((acc, [, v]) => acc + v, 0) / sr.length : NaN
    })
    const editorRss = editorSamples.map((xs) => (xs.at(-1)?.rss ?? NaN) / MB)
    const minutes = typedFor / 60_000
    s.tables.push({
      title: `W7 — a long day, per peer: CPU (% of one core), RSS (MiB) and edit → visible (ms) over ${fmt(typedFor / 1000)} s of typing`,
      headers: [
        'peer',
        'role',
        'CPU idle',
        'CPU typing mean',
        'CPU max',
        'CPU slope (points/min)',
        'RSS start',
        'RSS end',
        'RSS slope (MiB/min)',
        'visible p50',
        'visible p99',
        'visible max',
      ],
      rows,
      notes: [
        `${cfg.peers} peers in a full mesh on 127.0.0.1, ${cfg.docs} documents (${INITIAL_TEXT.length} characters each to start); ${cfg.typists} typists, each an editor process on its own peer's control socket, typing runs of 10–60 keys 80–320 ms apart (about 5 keys/s; one key in ten a backspace) at a random place in a random document, pausing 0.5–4 s between runs and switching documents after 3 pauses in 10. ${total.toLocaleString('en-US')} keystrokes in all (${fmt(total / Math.max(1e-9, typedFor / 1000))} per second).`,
        `Every peer keeps all ${cfg.docs} documents open in a client replica in its own process (so its CPU includes applying every change there); "visible" is when a peer's replica has applied a keystroke's change, timed at every peer but the typist's own, on the machine-wide monotonic clock.`,
        `Growth over the typing, MiB per peer (median, min–max over peers): RSS ${growth(memStart, memEnd, 'rss')} (anonymous ${growth(memStart, memEnd, 'rssAnon')}, file-backed ${growth(memStart, memEnd, 'rssFile')}); V8 heap reserved ${growth(memStart, memEnd, 'heapTotal')}, used ${growth(memStart, memEnd, 'heapUsed')}; array buffers (Node buffers and typed arrays; not WebAssembly memory) ${growth(memStart, memEnd, 'arrayBuffers')}; external ${growth(memStart, memEnd, 'external')}.`,
        `CPU and RSS from /proc every ${cfg.sampleMs / 1000} s (CPU idle: the ${baselineMs / 1000} s before typing; CPU % per interval; slopes: least squares over the ${fmt(minutes)} min of typing, per minute). Typists' editor processes: CPU ${editorCpu.map((x) => fmt(x)).join(', ')} %, RSS at the end ${editorRss.map((x) => fmt(x)).join(', ')} MiB.`,
      ],
    })
    const winRows = byWindow.map((xs, w) => {
      const sm = summarize(xs)
      return [
        windowLabel(w, cfg.windowMs),
        keysByWindow[w]!.toLocaleString('en-US'),
        xs.length.toLocaleString('en-US'),
        fmt(sm.p50),
        fmt(sm.p99),
        fmt(sm.max),
        w1p99 === undefined ? '' : sm.p99 <= w1p99 ? 'yes' : 'no',
      ]
    })
    s.tables.push({
      title: `W7 — edit → visible on the other peers per ${cfg.windowMs % 60_000 === 0 ? 'minute' : `${cfg.windowMs / 1000} s window`} (ms)`,
      headers: ['window', 'keystrokes', 'deliveries', 'p50', 'p99', 'max', `p99 within W1's (N=${cfg.peers})`],
      rows: winRows,
      notes: [
        w1p99 === undefined
          ? `W1 did not run at N=${cfg.peers} in this run, so there is no W1 p99 to compare with (run \`--only w1,w7\`).`
          : `W1's Grapevine typing p99 at N=${cfg.peers} in this run: ${fmt(w1p99)} ms.`,
        'A keystroke counts in the window in which it was typed; deliveries: one per other peer.',
      ],
    })
    const p99s = byWindow.map((xs) => percentile(xs, 99))
    const rssSlopes = perPeer.map((sr) => slope(sr.rss.filter(([m]) => m >= 0)))
    report.headlines.push(
      `W7 long day (${cfg.peers} peers, ${cfg.docs} documents, ${cfg.typists} typists, ${fmt(minutes)} min): edit → visible p99 per window ${fmt(Math.min(...p99s))}–${fmt(Math.max(...p99s))} ms; RSS slope per peer ${fmt(Math.min(...rssSlopes))} to ${fmt(Math.max(...rssSlopes))} MiB/min.`,
    )
    const names = workers.map((_, i) => `peer ${i}${typistPeer.includes(i) ? ' (typist)' : ''}`)
    s.charts.push({
      file: 'w7-long-day.svg',
      caption: `W7: per-peer RSS and CPU over the day, and edit → visible p50/p99 per window (${cfg.peers} peers, ${cfg.docs} documents, ${cfg.typists} typists)`,
      svg: stackCharts([
        lineChart({
          title: 'W7 RSS per peer',
          xLabel: 'minutes since typing started',
          yLabel: 'RSS (MiB)',
          series: perPeer.map((sr, i) => ({ name: names[i]!, points: sr.rss.filter(([m]) => m >= 0) })),
        }),
        lineChart({
          title: 'W7 CPU per peer (per sample interval)',
          xLabel: 'minutes since typing started',
          yLabel: 'CPU (% of one core)',
          series: perPeer.map((sr, i) => ({ name: names[i]!, points: sr.cpu.filter(([m]) => m > 0) })),
        }),
        lineChart({
          title: 'W7 edit → visible on the other peers, per window',
          xLabel: 'minutes since typing started (window start)',
          yLabel: 'latency (ms)',
          series: [
            { name: 'p50', points: byWindow.map((xs, w) => [(w * cfg.windowMs) / 60_000, percentile(xs, 50)] as [number, number]) },
            { name: 'p99', points: byWindow.map((xs, w) => [(w * cfg.windowMs) / 60_000, percentile(xs, 99)] as [number, number]) },
            ...(w1p99 === undefined
              ? []
              : [
                  {
                    name: `W1 p99, N=${cfg.peers}`,
                    points: [[0, w1p99] as [number, number], [((windows - 1) * cfg.windowMs) / 60_000, w1p99] as [number, number]],
                  },
                ]),
          ],
        }),
      ]),
    })
  } finally {
    await stopAll([...editors, ...workers])
  }
}
