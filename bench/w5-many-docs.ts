/**
 * W5 — many documents. A and B share D documents; B goes away, A changes 1% of them (20 keystrokes
 * each), B comes back: time, bytes and messages until B holds the same documents. Then B goes away
 * and comes back once more with nothing changed: what equal documents cost (ideally nothing but a
 * summary).
 */
import type { Report } from './lib/report.ts'
import { SYSTEM_NAMES, type SystemId } from './lib/systems.ts'
import { offlineRun, type OfflineResult } from './lib/offline.ts'
import { bytes, fmt, ratio } from './lib/stats.ts'
import { axisBytes, lineChart } from './lib/svg.ts'

export interface W5Config {
  sizes: [docs: number, systems: SystemId[]][]
  keysPerDoc: number
  timeoutMs: number
}
export const W5_FULL: W5Config = {
  sizes: [
    [1000, ['grapevine', 'am-ws', 'yjs']],
    [10_000, ['grapevine']],
  ],
  keysPerDoc: 20,
  timeoutMs: 240_000,
}
export const W5_SMOKE: W5Config = { sizes: [[20, ['grapevine']]], keysPerDoc: 5, timeoutMs: 30_000 }

export async function runW5(report: Report, cfg: W5Config): Promise<void> {
  const s = report.section('w5', 'W5 — many documents, few changed')
  const res = new Map<string, OfflineResult>()
  for (const [docs, systems] of cfg.sizes) {
    for (const sys of systems) {
      const tag = `${SYSTEM_NAMES[sys]}, ${docs} documents`
      console.log(`W5: ${tag}…`)
      try {
        res.set(
          `${sys}/${docs}`,
          await offlineRun(sys, {
            docs,
            changed: Math.max(1, Math.round(docs / 100)),
            keysPerDoc: cfg.keysPerDoc,
            thenEqual: true,
            timeoutMs: cfg.timeoutMs,
          }),
        )
      } catch (err) {
        report.check(false, `W5 ${tag} failed: ${(err as Error).message.split('\n')[0]}`)
        if (process.env['BENCH_VERBOSE']) console.error(err)
      }
    }
  }
  const rows: string[][] = []
  for (const [docs, systems] of cfg.sizes) {
    const gv = res.get(`grapevine/${docs}`)
    for (const sys of systems) {
      const r = res.get(`${sys}/${docs}`)
      const label = [docs.toLocaleString('en-US'), SYSTEM_NAMES[sys]]
      if (!r) {
        rows.push([...label, 'failed', '', '', '', '', '', '', ''])
        continue
      }
      const e = r.equal
      rows.push([
        ...label,
        fmt(r.totalMs),
        bytes(r.bytes),
        fmt(r.messages),
        fmt(r.roundTrips),
        e ? bytes(e.bytes) : '–',
        e ? fmt(e.messages) : '–',
        e ? fmt(e.roundTrips) : '–',
        sys === 'grapevine' || !gv ? '' : ratio(gv.totalMs, r.totalMs),
      ])
    }
  }
  s.tables.push({
    title: `W5 — B comes back after A changed 1% of the documents (${cfg.keysPerDoc} keystrokes each); then again with nothing changed`,
    headers: [
      'documents',
      'system',
      '1% changed: back → converged, ms',
      'bytes',
      'messages',
      'round trips',
      'all equal: bytes',
      'messages',
      'round trips',
      'GV÷ time',
    ],
    rows,
    notes: [
      'Same machinery as W2 (see there for what is counted). Each system once per size; documents are created by A with B online and synced before B leaves.',
      '"all equal": B leaves and returns with nothing changed anywhere; what crossed the network in the 1.5 s (Grapevine) or 0.3 s (anchors) after B was back.',
      'automerge-repo and Yjs run at 1,000 documents only: at 10,000 their per-document setup (10,000 Repo handles synced one by one; 10,000 y-websocket connections, one per room) does not fit the 15-minute budget.',
    ],
  })
  report.headlines.push(
    `W5 B back after 1% of the documents changed: ${cfg.sizes
      .flatMap(([docs, systems]) =>
        systems.map((sys) => {
          const r = res.get(`${sys}/${docs}`)
          return `${SYSTEM_NAMES[sys]} at ${docs.toLocaleString('en-US')}: ${r ? `${fmt(r.totalMs)} ms, ${bytes(r.bytes)}; all equal ${r.equal ? bytes(r.equal.bytes) : '–'}` : 'failed'}`
        }),
      )
      .join('; ')}.`,
  )
  const gv1k = res.get('grapevine/1000')
  if (gv1k?.equal) {
    s.findings.push(
      `**Equal documents cost one short frame each way.** With every document equal Grapevine exchanges ${bytes(gv1k.equal.bytes)} ` +
        `in ${fmt(gv1k.equal.messages)} frames at 1,000 documents, whatever their number: the catch-up summary is one 32-byte digest of the ` +
        'workspace (documents and heads, membership ops), answered by `eq`, and one session runs per reconnect (the lower peer id starts ' +
        'it; main/peer/sync/catchup.ts). With 1% changed, the documents are reconciled by ranges (main/peer/sync/reconcile.ts): about ' +
        '1 KiB per changed document for the ranges, so the bytes follow the changed documents; the rest is their changes.',
    )
  }
  const points = (sys: SystemId, pick: (r: OfflineResult) => number): [number, number][] =>
    cfg.sizes.flatMap(([docs]) => {
      const r = res.get(`${sys}/${docs}`)
      return r ? [[docs, pick(r)] as [number, number]] : []
    })
  const allSystems = [...new Set(cfg.sizes.flatMap(([, x]) => x))]
  s.charts.push({
    file: 'w5-many-docs.svg',
    caption: 'W5: bytes exchanged until B converges, against the number of shared documents (1% changed, and all equal), log–log',
    svg: lineChart({
      title: 'W5 bytes to converge vs shared documents',
      xLabel: 'documents shared',
      yLabel: 'bytes exchanged',
      logX: true,
      logY: true,
      yFormat: axisBytes,
      series: allSystems.flatMap((sys) => [
        { name: `${SYSTEM_NAMES[sys]}, 1% changed`, points: points(sys, (r) => r.bytes) },
        { name: `${SYSTEM_NAMES[sys]}, all equal`, points: points(sys, (r) => r.equal?.bytes ?? NaN) },
      ]),
    }),
  })
}
