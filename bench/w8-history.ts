/**
 * W8 — history. The editing trace typed as a year of editing sessions (a change per 40 keystrokes, a few
 * seconds apart in a session, 14 hours between sessions); then the document's timeline (sessions with
 * who, when and +/− characters) and versions spread over it (the text then, and what changed since).
 * The issue's goals on the whole trace: timeline ≤ 200 ms, any version ≤ 300 ms.
 * Anchor: automerge-repo, doing what an app on it would for the same screens (it keeps no timeline).
 */
import type { Report } from './lib/report.ts'
import { tempDir } from './lib/systems.ts'
import { spawnWorker } from './lib/workers.ts'
import { fmt, ratio } from './lib/stats.ts'
import { loadTrace, textAfter, TRACE_NAME } from './lib/trace.ts'
import type { HistoryArgs, HistoryResult } from './workers/history.ts'

export interface W8Config {
  traceKeys: number
  keysPerChange: number
  keysPerSession: number
  versions: number
  reps: number
}
export const W8_FULL: W8Config = { traceKeys: Infinity, keysPerChange: 40, keysPerSession: 1500, versions: 5, reps: 3 }
export const W8_SMOKE: W8Config = { traceKeys: 5000, keysPerChange: 40, keysPerSession: 500, versions: 3, reps: 1 }

const GOAL_TIMELINE_MS = 200
const GOAL_VERSION_MS = 300

export async function runW8(report: Report, cfg: W8Config): Promise<void> {
  const s = report.section('w8', 'W8 — history of the trace document')
  const keys = Number.isFinite(cfg.traceKeys) ? cfg.traceKeys : loadTrace().keys.length
  const expected = textAfter(keys).length
  const results: [string, HistoryResult][] = []
  for (const [name, cmd] of [
    ['Grapevine', 'grapevine'],
    ['automerge-repo (change metadata, decodeChange, view + diff)', 'automergeRepo'],
  ] as const) {
    console.log(`W8: ${name}…`)
    const w = await spawnWorker('history.ts', `w8-${cmd}`)
    try {
      const args: HistoryArgs = {
        dir: tempDir('w8'),
        keys,
        keysPerChange: cfg.keysPerChange,
        keysPerSession: cfg.keysPerSession,
        versions: cfg.versions,
        reps: cfg.reps,
      }
      const r = await w.call<HistoryResult>(cmd, args, 540_000)
      report.check(r.length === expected, `W8 ${name}: the trace document has ${r.length} of ${expected} characters`)
      results.push([name, r])
    } catch (err) {
      report.check(false, `W8 ${name} failed: ${(err as Error).message.split('\n')[0]}`)
    } finally {
      await w.stop()
    }
  }
  const [gv, am] = [results[0]?.[1], results[1]?.[1]]
  if (gv && am) {
    report.check(gv.sessions === am.sessions, `W8: Grapevine counted ${gv.sessions} sessions, the anchor ${am.sessions}`)
    report.check(
      JSON.stringify(gv.versionLengths) === JSON.stringify(am.versionLengths),
      `W8: the versions read have the same lengths (${gv.versionLengths.join(', ')} and ${am.versionLengths.join(', ')})`,
    )
  }
  const worst = (r: HistoryResult): number => Math.max(...r.versionMs)
  s.tables.push({
    title: `W8 — history of the ${keys.toLocaleString('en-US')}-keystroke ${TRACE_NAME} trace document typed as ${gv?.sessions ?? am?.sessions ?? '?'} sessions (${
      gv?.changes ?? am?.changes ?? '?'
    } changes), ms`,
    headers: ['system', 'timeline', 'version: median', 'version: slowest', 'first count', 'GV÷ timeline', 'GV÷ version'],
    rows: results.map(([name, r], i) => [
      name,
      fmt(r.timelineMs),
      fmt([...r.versionMs].sort((x, y) => x - y)[Math.floor(r.versionMs.length / 2)]!),
      fmt(worst(r)),
      r.firstCountMs === undefined ? '–' : fmt(r.firstCountMs),
      i === 0 || !gv ? '' : ratio(gv.timelineMs, r.timelineMs),
      i === 0 || !gv ? '' : ratio(worst(gv), worst(r)),
    ]),
    notes: [
      `${cfg.reps} reads of each; versions: ${cfg.versions} spread from the oldest session to the newest. Goals: timeline ≤ ${GOAL_TIMELINE_MS} ms, any version ≤ ${GOAL_VERSION_MS} ms.`,
      'Grapevine: `doc.history` (the latest 200 sessions, counted as changes arrive and kept in SQLite) and `doc.version` (A.view of the session’s last change and A.diff to now, turned into marks) through the client protocol, in the peer’s process.',
      'automerge-repo keeps no timeline: the same screen needs every change decoded (authors, times and +/− characters); a version is `handle.view(heads)` and `handle.diff` to now.',
      '"First count": how much longer a start and its first timeline take on a profile whose history was never counted (one from before history was kept), which counts every change, than on a counted one.',
    ],
  })
  if (gv) {
    const ok = gv.timelineMs <= GOAL_TIMELINE_MS && worst(gv) <= GOAL_VERSION_MS
    report.headlines.push(
      `W8 history of the trace (${gv.sessions} sessions): timeline ${fmt(gv.timelineMs)} ms, slowest version ${fmt(worst(gv))} ms${
        am ? ` (automerge-repo ${fmt(am.timelineMs)} ms, ${fmt(worst(am))} ms)` : ''
      }; goals ${ok ? 'met' : 'missed'}.`,
    )
  }
}
