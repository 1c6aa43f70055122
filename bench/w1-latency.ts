/**
 * W1 — edit → visible on the other peers. N collaborators, each in its own process; one types at
 * 10 keys/s, then a burst of 100 keys (back to back, yielding to the event loop between keys), for
 * several rounds. A keystroke is "visible" when the receiving collaborator's copy holds it (the
 * replica for Grapevine, the DocHandle for automerge-repo, the Y.Doc for Yjs). Times are taken on
 * the machine-wide monotonic clock in each process, so no clock offsets are involved.
 */
import type { Report } from './lib/report.ts'
import { deploy, SYSTEM_NAMES, type Deployment, type SystemId } from './lib/systems.ts'
import { measureW1Floors } from './lib/w1-floors.ts'
import { fmt, fmtRep, median, percentile, ratio, repeated, summarize } from './lib/stats.ts'
import { cdfChart } from './lib/svg.ts'
import { sleep } from './lib/serve.ts'

export interface W1Config {
  ns: number[]
  rounds: number
  steadyKeys: number
  burstKeys: number
  systems: SystemId[]
  /** From this N on, Grapevine alone (the anchors' deployments do not fit the machine). */
  grapevineAloneFrom?: number
}

export const W1_FULL: W1Config = {
  ns: [2, 4, 8, 16],
  rounds: 3,
  steadyKeys: 30,
  burstKeys: 100,
  systems: ['grapevine', 'am-ws', 'am-mc', 'yjs'],
  grapevineAloneFrom: 16,
}
export const W1_SMOKE: W1Config = { ns: [2], rounds: 1, steadyKeys: 4, burstKeys: 20, systems: ['grapevine', 'am-mc', 'yjs'] }

interface Measured {
  typing: number[]
  burst: number[]
  /** Per round: median typing latency, median burst latency, time from the burst's first key until every receiver holds its last. */
  typingP50: number[]
  burstP50: number[]
  burstDone: number[]
  /** Grapevine: latency counted from the moment the replica sent the keystroke (after frame batching). */
  afterSend: number[]
}

async function measure(dep: Deployment, cfg: W1Config, report: Report, tag: string): Promise<Measured> {
  const all = [dep.writer, ...dep.receivers]
  // Warm up: connections, meshes and first syncs settle before anything is timed.
  await dep.writer.call('type', { phases: [{ keys: 10, intervalMs: 50 }] })
  const warm = await dep.writer.call<number>('length')
  await Promise.all(dep.receivers.map((r) => r.call('waitLength', { length: warm, timeoutMs: 60_000 }, 70_000)))
  await sleep(300)
  const bases = await Promise.all(all.map((c) => c.call<number>('watch')))
  report.check(
    bases.every((b) => b === bases[0]),
    `W1 ${tag}: every collaborator holds the warm-up text (${bases.join(', ')})`,
  )
  const keyTimes: number[] = []
  const phaseOf: ('typing' | 'burst')[] = []
  const roundOf: number[] = []
  for (let r = 0; r < cfg.rounds; r++) {
    const times = await dep.writer.call<number[]>(
      'type',
      {
        phases: [
          { keys: cfg.steadyKeys, intervalMs: 100 },
          { keys: cfg.burstKeys, intervalMs: 0 },
        ],
      },
      120_000,
    )
    times.forEach((t, i) => {
      keyTimes.push(t)
      phaseOf.push(i < cfg.steadyKeys ? 'typing' : 'burst')
      roundOf.push(r)
    })
    const want = bases[0]! + keyTimes.length
    await Promise.all(dep.receivers.map((c) => c.call('waitLength', { length: want, timeoutMs: 60_000 }, 70_000)))
    await sleep(300)
  }
  const arrivals = await Promise.all(dep.receivers.map((c) => c.call<number[]>('arrivals')))
  const sendTimes = dep.system === 'grapevine' ? await dep.writer.call<number[]>('sendTimes', { keys: keyTimes.length }) : []
  const texts = await Promise.all(all.map((c) => c.call<string>('text')))
  report.check(
    texts.every((t) => t === texts[0]),
    `W1 ${tag}: all ${all.length} texts are equal`,
  )
  report.check(
    texts[0]!.length === bases[0]! + keyTimes.length,
    `W1 ${tag}: text length ${texts[0]!.length} = ${bases[0]} + ${keyTimes.length} keystrokes`,
  )
  const m: Measured = { typing: [], burst: [], typingP50: [], burstP50: [], burstDone: [], afterSend: [] }
  for (let r = 0; r < cfg.rounds; r++) {
    const t: number[] = []
    const b: number[] = []
    let done = 0
    keyTimes.forEach((kt, k) => {
      if (roundOf[k] !== r) return
      for (const a of arrivals) {
        const lat = a[k]! - kt
        ;(phaseOf[k] === 'typing' ? t : b).push(lat)
        if (phaseOf[k] === 'typing' && sendTimes.length) m.afterSend.push(a[k]! - sendTimes[k]!)
      }
    })
    const first = keyTimes.findIndex((_, k) => roundOf[k] === r && phaseOf[k] === 'burst')
    const last = keyTimes.findLastIndex((_, k) => roundOf[k] === r)
    if (first >= 0) for (const a of arrivals) done = Math.max(done, a[last]! - keyTimes[first]!)
    m.typing.push(...t)
    m.burst.push(...b)
    m.typingP50.push(median(t))
    m.burstP50.push(median(b))
    m.burstDone.push(done)
  }
  report.check(
    m.typing.concat(m.burst).every((x) => Number.isFinite(x) && x >= 0),
    `W1 ${tag}: every keystroke arrived at every receiver`,
  )
  return m
}

export async function runW1(report: Report, cfg: W1Config): Promise<void> {
  const s = report.section('w1', 'W1 — edit → visible on the other peers')
  const results = new Map<string, Measured>()
  const key = (sys: SystemId, n: number): string => `${sys}/${n}`
  const runs = (sys: SystemId, n: number): boolean => sys === 'grapevine' || n < (cfg.grapevineAloneFrom ?? Infinity)
  for (const n of cfg.ns) {
    for (const sys of cfg.systems) {
      if (!runs(sys, n)) continue
      const tag = `${SYSTEM_NAMES[sys]}, N=${n}`
      console.log(`W1: ${tag}…`)
      let dep: Deployment | null = null
      try {
        dep = await deploy(sys, n)
        results.set(key(sys, n), await measure(dep, cfg, report, tag))
      } catch (err) {
        report.check(false, `W1 ${tag} failed: ${(err as Error).message.split('\n')[0]}`)
        if (process.env['BENCH_VERBOSE']) console.error(err)
      } finally {
        await dep?.stop()
      }
    }
  }
  const { rtt, bare, hops, path } = await measureW1Floors(
    report,
    cfg.rounds * cfg.steadyKeys * 2,
    cfg.rounds * (cfg.steadyKeys + cfg.burstKeys),
  )

  const rows: string[][] = []
  for (const n of cfg.ns) {
    const gv = results.get(key('grapevine', n))
    for (const sys of cfg.systems) {
      if (!runs(sys, n)) continue
      const m = results.get(key(sys, n))
      if (!m) {
        rows.push([`N=${n}`, SYSTEM_NAMES[sys], 'failed', '', '', '', '', '', '', '', ''])
        continue
      }
      const t = summarize(m.typing)
      const b = summarize(m.burst)
      const isGv = sys === 'grapevine'
      rows.push([
        `N=${n}`,
        SYSTEM_NAMES[sys],
        fmtRep(repeated(m.typingP50)),
        fmt(t.p99),
        fmt(t.max),
        fmtRep(repeated(m.burstP50)),
        fmt(b.p99),
        fmt(b.max),
        fmtRep(repeated(m.burstDone)),
        isGv || !gv ? '' : ratio(median(gv.typingP50), median(m.typingP50)),
        isGv || !gv ? '' : ratio(median(gv.burstDone), median(m.burstDone)),
      ])
    }
  }
  // Left for W1b and W7 in the same run: Grapevine's typing p50 (median over rounds) and pooled p99, per N.
  for (const n of cfg.ns) {
    const gv = results.get(key('grapevine', n))
    if (!gv) continue
    report.figures.set(`w1.grapevine.typingP50.n${n}`, median(gv.typingP50))
    report.figures.set(`w1.grapevine.typingP99.n${n}`, percentile(gv.typing, 99))
  }
  const tr = summarize(rtt)
  rows.push(['floor', 'loopback TCP round trip (2 processes)', fmt(tr.p50), fmt(tr.p99), fmt(tr.max), '', '', '', '', '', ''])
  const ba = summarize(bare)
  rows.push(['floor', 'bare Automerge, 1 process (change + apply)', fmt(ba.p50), fmt(ba.p99), fmt(ba.max), '', '', '', '', '', ''])
  const labels = { signed: 'gossipsub, one hop (2 processes, no app code)', stream: 'libp2p stream, one hop (2 processes, no app code)' }
  for (const [mode, hop] of hops) {
    if (!hop.length) continue
    const gh = summarize(hop)
    rows.push(['floor', labels[mode], fmt(gh.p50), fmt(gh.p99), fmt(gh.max), '', '', '', '', '', ''])
  }
  if (path.length) {
    const ph = summarize(path)
    rows.push([
      'floor',
      "the live path's hops at 10 a second (4 processes, no app code)",
      fmt(ph.p50),
      fmt(ph.p99),
      fmt(ph.max),
      '',
      '',
      '',
      '',
      '',
      '',
    ])
    report.figures.set('w1.floor.path.p50', ph.p50)
  }
  s.tables.push({
    title: 'W1 — keystroke → visible on every other collaborator (ms)',
    headers: [
      'N',
      'system',
      'typing p50',
      'typing p99',
      'typing max',
      'burst p50',
      'burst p99',
      'burst max',
      'burst visible everywhere',
      'GV÷ typing p50',
      'GV÷ burst',
    ],
    rows,
    notes: [
      `Typing: ${cfg.steadyKeys} keys at 10 keys/s, then a burst of ${cfg.burstKeys} keys back to back; ${cfg.rounds} rounds per N; every keystroke timed at every receiver (N−1 receivers: ${cfg.rounds * cfg.steadyKeys}×(N−1) typing samples).`,
      'p50 cells: median over rounds (min–max over rounds); p99 and max pool all deliveries. "burst visible everywhere": from the burst\'s first key until the last receiver holds its last key.',
      'GV÷: Grapevine ÷ that system (below 1 = Grapevine faster). Floors: round trip of 64 bytes between two processes; CPU of one change made and applied in one process; one message of one keystroke’s size (533 bytes) from one libp2p node to another (TCP, Noise, Yamux), through gossipsub (signed) or on a stream of its own, send to arrival (20 ms apart). At N = 16 Grapevine runs alone.',
      "The live path's hops: the same 533 bytes from an editor process to its peer on a Unix socket (as the editor's requests reach a peer's control socket), on a libp2p stream to the other peer, and on that peer's Unix socket to its editor: four processes, one message every 100 ms as typing at 10 keys/s sends them, send to arrival, no application code.",
    ],
  })
  const gvAfter = cfg.ns.map((n) => [n, results.get(key('grapevine', n))?.afterSend ?? []] as const).filter(([, v]) => v.length)
  if (gvAfter.length) {
    s.tables
      .at(-1)!
      .notes!.push(
        `Grapevine's writer sends as the app's editor worker does (after a quiet frame at once, in a fast run together at its next turn, 8 ms later); counted from the moment its request was sent, typing p50 is ${gvAfter.map(([n, v]) => `${fmt(percentile(v, 50))} ms (N=${n})`).join(', ')}.`,
      )
  }
  const slower = cfg.ns.flatMap((n) => {
    const gv = results.get(key('grapevine', n))
    if (!gv) return []
    return cfg.systems
      .filter((sys) => sys !== 'grapevine')
      .flatMap((sys) => {
        const m = results.get(key(sys, n))
        return m && median(gv.typingP50) > median(m.typingP50)
          ? [`${SYSTEM_NAMES[sys]} at N=${n} (${fmt(median(gv.typingP50))} vs ${fmt(median(m.typingP50))} ms)`]
          : []
      })
  })
  if (slower.length) {
    s.findings.push(
      `**Where Grapevine is slower, and why.** Typing p50 is higher than ${slower.join('; ')}. ` +
        'The path of one keystroke (run `BENCH_PROBE=1 node bench/probe.ts` for a stage-by-stage timeline):',
      '1. *Each hop and each stage costs CPU.* Edits reach connected teammates on a libp2p stream of their own (the live path; the floor ' +
        'row "libp2p stream, one hop" is that hop alone, against "gossipsub, one hop"). What Grapevine adds to it: the editor → peer request ' +
        '(a local socket), sealing and signing the change, and at each receiver decoding, checking the signature, opening, applying and ' +
        'telling the editor; gossip then brings the same message again, which the receiver recognises by its bytes.',
      '2. *Every peer does per-keystroke work, and N peers share 2 cores.* Each receiver verifies, opens, applies and forwards each change ' +
        "(about 9 ms of CPU per keystroke per peer at N=4 in a profile of W7, including the bench's own replicas); at N=8 and 16 the p99 and the " +
        "bursts measure the queue for the CPU more than the path. Yjs's relay forwards bytes without looking at them.",
      '3. *A burst is still a few changes, each a round of work everywhere*: the editor commits the keys typed until its next turn (8 ms) as one ' +
        'change (renderer/src/editor/replica.ts `commitTyping`), and each change is sealed, signed, checked and applied at every receiver, where ' +
        "Automerge's apply costs about the same per call whatever the call holds. The typist itself needs tens of milliseconds for 100 keys.",
      'Done already, no longer on the path: the live path (no gossipsub hop, no second signature); the receiver applies and shows before it ' +
        "commits, and commits a teammate's keystrokes together within 250 ms, one commit for several; commits fsync on the thread pool, not " +
        "the event loop; the first changes of a turn are published at once; listing rows and teammates' heads ride in a commit that happens " +
        "anyway; heads by the live path are taken on the connection's word, without a second signature check; gossipsub drops a duplicate " +
        'before checking its signature (a fast message id).',
    )
  }
  // What the live path's hops alone cost at the typing rate, against the anchors' whole path.
  const yjs2 = results.get(key('yjs', 2))
  if (path.length && yjs2) {
    const hopsP50 = percentile(path, 50)
    const bareP50 = percentile(bare, 50)
    const yjsP50 = median(yjs2.typingP50)
    s.findings.push(
      `**The floor of this path.** The live path's hops with no application code (an editor's Unix socket to its peer, a libp2p stream ` +
        `to the other peer, that peer's Unix socket to its editor; 533 bytes at 10 a second; the last floor row) take ${fmt(hopsP50)} ms ` +
        `at the median, against ${fmt(yjsP50)} ms for Yjs's whole keystroke → visible at N=2; with bare Automerge's change and apply ` +
        `(${fmt(bareP50)} ms) they come to ${fmt(hopsP50 + bareP50)} ms, ${ratio(hopsP50 + bareP50, yjsP50)} Yjs's p50, before any ` +
        `signature, seal, check or storage. Grapevine's typing p50 at N=2 is ${fmt(median(results.get(key('grapevine', 2))?.typingP50 ?? [Number.NaN]))} ms. ` +
        (hopsP50 + bareP50 >= yjsP50
          ? 'So "typing p50 ≤ Yjs\'s" is below what three process hops and one Automerge change cost on this machine: '
          : `So "typing p50 ≤ Yjs's" leaves ${fmt(yjsP50 - hopsP50 - bareP50)} ms for all of Grapevine's own work per keystroke: `) +
        'y-websocket has two hops (client → server → client), each a WebSocket frame between two processes, and no CRDT work beyond encoding an update.',
    )
  }
  const fasterThanAmWs = cfg.ns.filter((n) => {
    const gv = results.get(key('grapevine', n))
    const am = results.get(key('am-ws', n))
    return gv && am && median(gv.typingP50) < median(am.typingP50)
  })
  if (fasterThanAmWs.length) {
    s.findings.push(
      `Against automerge-repo over WebSocket Grapevine is faster while typing at N = ${fasterThanAmWs.join(', ')}: automerge-repo ` +
        'throttles sync to one message per 100 ms per document and relays through its server. Yjs sends every update at once through its ' +
        'server, with no storage and no verification in the path.',
    )
  }
  const head = cfg.ns.map((n) => {
    const v = (sys: SystemId): string => {
      const m = results.get(key(sys, n))
      return m ? fmt(median(m.typingP50)) : '–'
    }
    return `N=${n}: ${v('grapevine')} / ${v('am-ws')} / ${v('am-mc')} / ${v('yjs')}`
  })
  report.headlines.push(
    `W1 keystroke → visible, typing p50 in ms (Grapevine / automerge-repo WS / automerge-repo MessageChannel / Yjs): ${head.join('; ')}; loopback TCP round trip ${fmt(tr.p50)}.`,
  )
  s.charts.push({
    file: 'w1-latency.svg',
    caption: 'W1: distribution of keystroke → visible latency while typing at 10 keys/s (empirical CDF, log time axis), one panel per N',
    svg: cdfChart({
      title: 'W1 keystroke → visible on the other peers, typing at 10 keys/s',
      xLabel: 'latency (ms, log scale)',
      panels: cfg.ns.map((n) => ({
        title: `N = ${n}`,
        series: cfg.systems
          .flatMap((sys) => {
            const m = results.get(key(sys, n))
            return m ? [{ name: SYSTEM_NAMES[sys], values: m.typing }] : []
          })
          .concat(n === cfg.ns[0] ? [{ name: 'loopback TCP round trip', values: rtt }] : []),
      })),
    }),
  })
  s.charts.push({
    file: 'w1-burst.svg',
    caption: `W1: distribution of keystroke → visible latency in bursts of ${cfg.burstKeys} keys (empirical CDF, log time axis)`,
    svg: cdfChart({
      title: `W1 keystroke → visible, bursts of ${cfg.burstKeys} keys`,
      xLabel: 'latency (ms, log scale)',
      panels: cfg.ns.map((n) => ({
        title: `N = ${n}`,
        series: cfg.systems.flatMap((sys) => {
          const m = results.get(key(sys, n))
          return m ? [{ name: SYSTEM_NAMES[sys], values: m.burst }] : []
        }),
      })),
    }),
  })
}
