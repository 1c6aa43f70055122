/**
 * W2 — catch-up. B is offline while A makes K keystrokes (one change each: the first K keystrokes of
 * the editing trace), in one document or spread over 100; then B comes back. Time until B holds
 * the same documents, bytes and messages exchanged, round trips.
 */
import type { Report } from './lib/report.ts'
import { SYSTEM_NAMES, type SystemId } from './lib/systems.ts'
import { offlineRun, type OfflineResult } from './lib/offline.ts'
import { spawnWorker, stopAll } from './lib/workers.ts'
import { bytes, fmt, fmtRep, median, ratio, repeated } from './lib/stats.ts'
import { axisBytes, lineChart } from './lib/svg.ts'
import { TRACE_NAME } from './lib/trace.ts'

export interface W2Config {
  ks: number[]
  layouts: number[]
  /** Extra cells: one document that already has `shared` keystrokes both sides hold, then K more while B is away. */
  shared: { k: number; shared: number }[]
  /**
   * Extra Grapevine cells: one document, K keystrokes typed by A while a third member C is online (they leave
   * one by one, as typed together, and go under covers once A's typing pauses), then B back to both. The anchors' server holds A's changes either way:
   * their 1-document cell at the same K is the same scenario for them.
   */
  together: number[]
  reps: number
  systems: SystemId[]
  timeoutMs: number
}
export const W2_FULL: W2Config = {
  ks: [1_000, 10_000, 100_000],
  layouts: [1, 100],
  shared: [{ k: 100, shared: 10_000 }],
  together: [1_000, 10_000],
  reps: 1,
  systems: ['grapevine', 'am-ws', 'yjs'],
  timeoutMs: 240_000,
}
export const W2_SMOKE: W2Config = {
  ks: [100],
  layouts: [1, 10],
  shared: [],
  together: [100],
  reps: 1,
  systems: ['grapevine', 'yjs'],
  timeoutMs: 30_000,
}

/** Times each floor is taken (`Floor`). */
const FLOOR_REPS = 3
/** What Automerge alone spends for B to take K changes, three ways (bench/workers/floors.ts `catchupFloor`), ms. */
interface Floor {
  applyMs: number[]
  loadMs: number[]
  checkMs: number[]
}

export async function runW2(report: Report, cfg: W2Config): Promise<void> {
  const s = report.section('w2', 'W2 — catch-up after being offline')
  const res = new Map<string, OfflineResult[]>()
  const key = (sys: SystemId, k: number, docs: number, shared = 0): string => `${sys}/${k}/${docs}/${shared}`
  const cells: { k: number; docs: number; shared: number }[] = [
    ...cfg.layouts.flatMap((docs) => cfg.ks.map((k) => ({ k, docs, shared: 0 }))),
    ...cfg.shared.map(({ k, shared }) => ({ k, docs: 1, shared })),
  ]
  for (const { k, docs, shared } of cells) {
    for (const sys of cfg.systems) {
      const tag = `${SYSTEM_NAMES[sys]}, K=${k}, ${docs} doc${docs > 1 ? 's' : ''}${shared ? ` after ${shared} shared` : ''}`
      for (let rep = 0; rep < cfg.reps; rep++) {
        console.log(`W2: ${tag}…`)
        try {
          const r = await offlineRun(sys, {
            docs,
            changed: docs,
            keysPerDoc: Math.ceil(k / docs),
            sharedKeys: shared,
            bInitiates: shared > 0,
            timeoutMs: cfg.timeoutMs,
          })
          res.set(key(sys, k, docs, shared), [...(res.get(key(sys, k, docs, shared)) ?? []), r])
        } catch (err) {
          report.check(false, `W2 ${tag} failed: ${(err as Error).message.split('\n')[0]}`)
          if (process.env['BENCH_VERBOSE']) console.error(err)
        }
      }
    }
  }
  const together = new Map<number, OfflineResult[]>()
  if (cfg.systems.includes('grapevine'))
    for (const k of cfg.together) {
      for (let rep = 0; rep < cfg.reps; rep++) {
        const tag = `Grapevine, K=${k}, 1 doc typed with a teammate online`
        console.log(`W2: ${tag}…`)
        try {
          const r = await offlineRun('grapevine', { docs: 1, changed: 1, keysPerDoc: k, witness: true, timeoutMs: cfg.timeoutMs })
          together.set(k, [...(together.get(k) ?? []), r])
        } catch (err) {
          report.check(false, `W2 ${tag} failed: ${(err as Error).message.split('\n')[0]}`)
          if (process.env['BENCH_VERBOSE']) console.error(err)
        }
      }
    }
  // The floor under the 1-document cells: what Automerge alone spends for B to take the same K changes.
  const floors = new Map<number, Floor>()
  if (cfg.systems.includes('grapevine') && cfg.layouts.includes(1))
    for (const k of cfg.ks) {
      console.log(`W2: floor, K=${k}…`)
      const w = await spawnWorker('floors.ts', 'w2-floor')
      try {
        floors.set(k, await w.call<Floor>('catchupFloor', { k, reps: FLOOR_REPS }, cfg.timeoutMs))
      } catch (err) {
        report.check(false, `W2 floor at K=${k} failed: ${(err as Error).message.split('\n')[0]}`)
      } finally {
        await stopAll([w])
      }
    }
  const rows: string[][] = []
  for (const { k, docs, shared } of cells) {
    const gv = res.get(key('grapevine', k, docs, shared))
    for (const sys of cfg.systems) {
      const r = res.get(key(sys, k, docs, shared))
      const layout = shared ? `1 doc, ${shared.toLocaleString('en-US')} shared before` : docs === 1 ? '1 doc' : `${docs} docs`
      const label = [`${k.toLocaleString('en-US')}`, layout, SYSTEM_NAMES[sys]]
      if (!r) {
        rows.push([...label, 'failed', '', '', '', '', ''])
        continue
      }
      rows.push([
        ...label,
        fmtRep(repeated(r.map((x) => x.totalMs))),
        fmtRep(repeated(r.map((x) => x.convergeMs))),
        bytes(median(r.map((x) => x.bytes))),
        fmt(median(r.map((x) => x.messages))),
        fmt(median(r.map((x) => x.roundTrips))),
        sys === 'grapevine' || !gv ? '' : ratio(median(gv.map((x) => x.totalMs)), median(r.map((x) => x.totalMs))),
      ])
    }
    const floor = docs === 1 && !shared ? floors.get(k) : undefined
    if (floor)
      for (const [what, ms] of [
        ['applied as changes', floor.applyMs],
        ['loaded as runs', floor.loadMs],
        ["runs read, then loaded (Grapevine's check and apply)", floor.checkMs],
      ] as const)
        rows.push([
          k.toLocaleString('en-US'),
          '1 doc',
          `floor: bare Automerge, ${what}`,
          '',
          fmtRep(repeated(ms)),
          '',
          '',
          '',
          gv ? ratio(median(gv.map((x) => x.convergeMs)), median(ms)) : '',
        ])
  }
  s.tables.push({
    title: 'W2 — B comes back after K keystrokes made by A while B was offline',
    headers: ['K', 'layout', 'system', 'back → converged, ms', 'of which syncing, ms', 'bytes', 'messages', 'round trips', 'GV÷ time'],
    rows,
    notes: [
      `Each keystroke is one change (Automerge change / Yjs transaction) of the ${TRACE_NAME} trace; with 100 documents each gets K/100 keystrokes. "shared before": the document first gets that many keystrokes with both online, then K more while B is away; there Grapevine's B starts the catch-up session itself, as it does whenever its peer id sorts first.`,
      '"back → converged": from B starting again (Grapevine: createPeer on its profile; automerge-repo: new Repo on its NodeFS folder; Yjs: new Y.Docs from kept state) until every document equals A\'s. "of which syncing": after B is started and its documents are loaded.',
      "Bytes and messages: Grapevine: catch-up frames sent by both peers (stats().catchup); anchors: every WebSocket message B sent or received (B's link to the server, which already holds A's changes).",
      "Round trips: Grapevine: times the dialling peer waited for an answer (stats().catchup.roundTrips: summary → reconciliation, changes → changes; one session per reconnect); anchors: times B's traffic turned from sending to receiving.",
      `${cfg.reps} repetition(s) per cell; time cells: median (min–max).`,
      `Floor rows: the same K keystrokes, each one change, taken by a fresh copy of the document in one process with no network, no disk and no check of authorship (bench/workers/floors.ts \`catchupFloor\`): applied as changes (\`A.applyChanges\`, what a sync message carries), loaded as runs (bundles of 1,024 changes, \`A.loadIncremental\`), and each run read (\`A.readBundle\`, which Grapevine's receiver checks a run with) before the load; ${FLOOR_REPS} times each (median, min–max), in a process of their own. Their GV÷ is Grapevine's "of which syncing" ÷ the floor.`,
    ],
  })
  if (together.size > 0) {
    const anchors = cfg.systems.filter((sys) => sys !== 'grapevine')
    s.tables.push({
      title: 'W2 — B comes back after K keystrokes A typed with a teammate online (one document)',
      headers: [
        'K',
        'back → converged, ms',
        'of which syncing, ms',
        'bytes',
        'messages',
        'round trips',
        "GV÷ Grapevine's offline-typed cell",
        ...anchors.map((sys) => `GV÷ ${SYSTEM_NAMES[sys]}`),
      ],
      rows: cfg.together.map((k) => {
        const r = together.get(k)
        if (!r) return [k.toLocaleString('en-US'), 'failed', '', '', '', '', '', ...anchors.map(() => '')]
        const t = median(r.map((x) => x.totalMs))
        const vs = (sys: SystemId): string => {
          const o = res.get(key(sys, k, 1, 0))
          return o ? ratio(t, median(o.map((x) => x.totalMs))) : '–'
        }
        return [
          k.toLocaleString('en-US'),
          fmtRep(repeated(r.map((x) => x.totalMs))),
          fmtRep(repeated(r.map((x) => x.convergeMs))),
          bytes(median(r.map((x) => x.bytes))),
          fmt(median(r.map((x) => x.messages))),
          fmt(median(r.map((x) => x.roundTrips))),
          vs('grapevine'),
          ...anchors.map(vs),
        ]
      }),
      notes: [
        "Grapevine with three members: B leaves, A types K keystrokes while C stays online, each one change sent and acknowledged before the next (a person's pace), so each leaves on its own as when typed together (runs are made only of changes typed with no connection, or sent together). Once A's typing pauses (5 s) it puts them under covers (one sealed bundle and one signature for up to 4,096 of them, each one's hash and deps in clear: main/peer/sync/covers.ts, own-covers.ts), which take their place in A's log and in C's; B starts again after that, as a teammate away for a while does, and connects to A and C both. Bytes, messages and round trips: every peer's catch-up frames.",
        "GV÷: this cell's time against the 1-document cell at the same K in the table above: Grapevine's own (the same keystrokes typed with no connection, which leave as runs) and the anchors' (their server holds A's changes however they were typed, so theirs is the same scenario).",
      ],
    })
  }
  const big = Math.max(...cfg.ks)
  const t = (sys: SystemId): string => {
    const r = res.get(key(sys, big, 1))
    return r ? `${fmt(median(r.map((x) => x.totalMs)))} ms, ${bytes(median(r.map((x) => x.bytes)))}` : '–'
  }
  report.headlines.push(
    `W2 catch-up after ${big.toLocaleString('en-US')} keystrokes in one document: ${cfg.systems.map((sys) => `${SYSTEM_NAMES[sys]} ${t(sys)}`).join('; ')}.`,
  )
  const worst = cells
    .map(({ k, docs, shared }) => {
      const gv = res.get(key('grapevine', k, docs, shared))
      const am = res.get(key('am-ws', k, docs, shared))
      return gv && am ? median(gv.map((x) => x.totalMs)) / median(am.map((x) => x.totalMs)) : NaN
    })
    .filter(Number.isFinite)
  if (worst.some((r) => r > 1)) {
    s.findings.push(
      `**Where Grapevine is slower, and why.** Catch-up is up to ${fmt(Math.max(...worst))}× slower than automerge-repo. Causes, in ` +
        'order of weight (a CPU profile of K = 10,000 on both peers):',
      '1. *Automerge itself, twice, on the receiver.* What A typed with no connection leaves as runs (main/peer/sync/runs.ts): a ' +
        "chain of A's changes sealed as one Automerge bundle (Automerge's compressed columns) and signed once: one signature and one " +
        'sealed box per run of at most 1,024 keystrokes, so 10,000 keystrokes travel in about 26 KiB. B then checks each run before taking it: ' +
        '`A.readBundle`, which decodes every operation, to see that the run holds exactly the changes signed for, each building on the ' +
        'one before, each by an actor of the signer (about 30 µs per keystroke); then applies it with `A.loadIncremental` (about 25 µs). ' +
        "automerge-repo's receiver applies once and checks nothing of the kind. Not done: a check that reads change headers without " +
        'decoding operations (Automerge has no such call for bundles), or applying first and checking the changes that came in.',
      ...floorFinding(floors, res.get(key('grapevine', 10_000, 1, 0))),
      '2. *History that left one change at a time goes under covers once the typing pauses.* A run is formed only of changes nobody ' +
        'can hold yet (made with no connection), so nobody can have built on a change inside one. Keys typed while a teammate was ' +
        'connected leave one change at a time; once the typing pauses (5 s, or at stop) their author seals them as covers (one bundle ' +
        'and one signature for up to 4,096 changes, with each one’s hash and deps in clear: main/peer/sync/covers.ts, own-covers.ts), ' +
        'and a teammate catching up later gets the covers (the second table).',
      '3. *Fixed (catch-up 2):* both peers used to run a session for the same workspace on connect, and the side that was behind sent ' +
        'its whole history of each differing document. Now one session runs per peer and workspace (a lock that covers answered sessions; ' +
        "the lower id starts on connect), and the side that does not know the other's heads sends only its heads and a have-set, so it " +
        'sends no change the other holds (main/peer/sync/catchup.ts, ancestry.ts).',
    )
  }
  s.charts.push({
    file: 'w2-bytes.svg',
    caption: 'W2: bytes exchanged until B converges against the keystrokes it missed (one document), log–log',
    svg: lineChart({
      title: 'W2 bytes to catch up, one document',
      xLabel: 'keystrokes made while B was offline',
      yLabel: 'bytes exchanged',
      logX: true,
      logY: true,
      yFormat: axisBytes,
      series: cfg.systems.map((sys) => ({
        name: SYSTEM_NAMES[sys],
        points: cfg.ks.flatMap((k) => {
          const r = res.get(key(sys, k, 1))
          return r ? [[k, median(r.map((x) => x.bytes))] as [number, number]] : []
        }),
      })),
    }),
  })
  for (const docs of cfg.layouts) {
    s.charts.push({
      file: `w2-catchup-${docs}doc.svg`,
      caption: `W2: time until B converges against the keystrokes it missed (${docs === 1 ? 'one document' : `${docs} documents`}), log–log`,
      svg: lineChart({
        title: `W2 catch-up, ${docs === 1 ? 'one document' : `${docs} documents`}`,
        xLabel: 'keystrokes made while B was offline',
        yLabel: 'back → converged (ms)',
        logX: true,
        logY: true,
        series: cfg.systems.map((sys) => ({
          name: SYSTEM_NAMES[sys],
          points: cfg.ks.flatMap((k) => {
            const r = res.get(key(sys, k, docs))
            return r ? [[k, median(r.map((x) => x.totalMs))] as [number, number]] : []
          }),
        })),
      }),
    })
  }
}

/** What the floor rows say of the 10,000-keystroke cell, if both were measured. */
function floorFinding(floors: Map<number, Floor>, gv: OfflineResult[] | undefined): string[] {
  const f = floors.get(10_000)
  if (!f || !gv) return []
  return [
    `   At K = 10,000 Automerge alone (the floor rows, one process, no network or disk) takes ${fmt(median(f.applyMs))} ms to apply ` +
      `the changes, ${fmt(median(f.loadMs))} ms to load them as runs and ${fmt(median(f.checkMs))} ms to read and then load them, ` +
      `against Grapevine's ${fmt(median(gv.map((x) => x.convergeMs)))} ms of syncing: the goal of 100 ms is ` +
      `${median(f.applyMs) > 100 && median(f.loadMs) > 100 ? 'below what Automerge spends on this machine however the changes come' : 'within what Automerge alone allows here'}; ` +
      "the rest of the syncing is Grapevine's own: garbage collection of the decoded changes (about 90 ms of B's CPU in a profile, " +
      'session 41), opening and verifying the runs, the catch-up round trips and the commit.',
  ]
}
