/**
 * One trial of the convergence simulation: 3–8 members of the template team start on copies of their
 * profiles and go through a random schedule of edits (insert, delete, title, whole text, create and
 * delete documents) and faults (partitions and heals, clean restarts, a kill -9 of a peer running in a
 * child process, catch-up started at random moments while edits flow, signed changes replayed
 * duplicated and shuffled over gossip and over catch-up); then everything is healed and every peer must
 * hold the same documents, titles, text, heads and change log, with nothing pending (checks.ts).
 *
 * Every choice comes from the trial's random source, drawn in a fixed amount per step whatever the
 * peers' state, so a seed replays the same schedule (the engine's timing still varies from run to run).
 */
import * as A from '@automerge/automerge'
import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DocContent } from '../../../../shared/doc-content.ts'
import type { PeerClient } from '../../../../shared/protocol.ts'
import type { Log } from '../../log.ts'
import { DB_FILE, type Peer } from '../../peer.ts'
import { encodeMessage, PEER_PROTOCOL_VERSION, workspaceTopic, type SignedChange } from '../../wire/peer-protocol.ts'
import { catchupInject } from '../attacker.ts'
import { startPeer, testLog } from '../helpers.ts'
import type { Random } from '../random.ts'
import { checkConverged, staleSyncStatus, type Expected } from './checks.ts'
import { Network } from './network.ts'
import { runOpener, storedChanges } from './stored.ts'
import { simTempDir } from './temp.ts'
import type { Member, Template } from './template.ts'

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url))
/** How long the kill -9 child may take to start and acknowledge its edits. */
const CHILD_LIMIT_MS = 20_000
/** Peers per trial: mostly few, since the cost grows with the square of the number (every pair talks). */
const PEER_COUNTS = [3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 5, 6, 7, 8] as const

export interface TrialOptions {
  /** The chance that a trial has a kill -9 phase (a child process costs about a second). */
  killChance: number
  /**
   * Sync status after convergence, in a share (`chance`) of the trials: it may take `waitMs` to show
   * every running teammate holding every document's heads; `strict`: still stale then fails the
   * trial, else it is only reported.
   */
  syncStatus: { chance: number; waitMs: number; strict: boolean }
}

export interface TrialResult {
  peers: number
  steps: number
  /** How many of each kind of step and fault ran. */
  counts: Record<string, number>
  ms: number
  /** Whether sync status was looked at, and what was still stale then (empty: none). */
  status: { checked: boolean; stale: string[] }
  schedule: string[]
  /** What the peers logged at warn and above. */
  logs: string[]
}

/** A failed trial, with the schedule it ran and what its peers logged at warn and above. */
export class TrialFailure extends Error {
  readonly schedule: string[]
  readonly logs: string[]
  constructor(cause: unknown, schedule: string[], logs: string[]) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
    this.name = 'TrialFailure'
    this.schedule = schedule
    this.logs = logs
  }
}

export interface SimPeer {
  readonly name: string
  readonly member: Member
  readonly profile: string
  peer: Peer | null
  client: (PeerClient & { close(): void }) | null
  /** The current run of its peer, if it runs. */
  run: PeerRun | null
  /** Operations under way on this peer: a stop waits for them. */
  readonly inflight: Set<Promise<void>>
}

/** One run of a peer, from its start: whether `stop()` was called and whether it returned. */
interface PeerRun {
  stopping: boolean
  stopped: boolean
}

const STEP_KINDS = [
  ['insert', 22],
  ['remove', 12],
  ['title', 8],
  ['replace', 4],
  ['create', 4],
  ['delete-doc', 2],
  ['sync-now', 8],
  ['partition', 5],
  ['alone', 3],
  ['heal', 4],
  ['restart', 5],
  ['replay-gossip', 4],
  ['replay-catchup', 3],
  ['pause', 6],
] as const
type StepKind = (typeof STEP_KINDS)[number][0]
const TOTAL_WEIGHT = STEP_KINDS.reduce((s, [, w]) => s + w, 0)

function kindOf(x: number): StepKind {
  let at = x * TOTAL_WEIGHT
  for (const [kind, w] of STEP_KINDS) {
    if (at < w) return kind
    at -= w
  }
  return 'pause'
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** An edit the way a client makes one: the document's bytes, a local Automerge change, sent as bytes. Its hash, or null if none. */
/**
 * Types `keys` at fraction `at` of the text, one change per key, each acknowledged, or (`burst`) all sent
 * in one request, as a window sends keys typed within one frame (they leave as a run: sync/runs.ts);
 * returns their hashes.
 */
async function clientType(c: PeerClient, docId: string, at: number, keys: string, burst = false): Promise<string[]> {
  const opened = await c.request('doc.open', { docId })
  const hashes: string[] = []
  try {
    let doc = A.load<DocContent>(opened.bytes, { actor: opened.actor })
    if (typeof doc.text !== 'string') return hashes
    let pos = Math.floor(at * (doc.text.length + 1))
    const changes: Uint8Array[] = []
    for (const key of keys) {
      doc = A.change(doc, (d) => A.splice(d, ['text'], pos++, 0, key))
      const change = A.getLastLocalChange(doc)!
      if (burst) changes.push(change)
      else await c.request('doc.applyChanges', { docId, changes: [change] })
      hashes.push(A.decodeChange(change).hash)
    }
    if (changes.length) await c.request('doc.applyChanges', { docId, changes })
    return hashes
  } finally {
    await c.request('doc.close', { docId })
  }
}

async function clientEdit(c: PeerClient, docId: string, fn: (d: DocContent) => void): Promise<string | null> {
  const opened = await c.request('doc.open', { docId })
  try {
    const doc = A.load<DocContent>(opened.bytes, { actor: opened.actor })
    // A document whose first change has not arrived yet (only later ones, replayed) has no text to edit.
    if (typeof doc.text !== 'string') return null
    const next = A.change(doc, fn)
    const change = A.getLastLocalChange(next)
    if (!change) return null
    await c.request('doc.applyChanges', { docId, changes: [change] })
    return A.decodeChange(change).hash
  } finally {
    await c.request('doc.close', { docId })
  }
}

/** `items`, each one to three times, in random order. */
function duplicateAndShuffle<T>(items: T[], rnd: Random): T[] {
  const out = items.flatMap((x) => Array.from({ length: rnd.between(1, 3) }, () => x))
  for (let i = out.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

export async function runTrial(template: Template, rnd: Random, opts: TrialOptions): Promise<TrialResult> {
  return new Trial(template, rnd, opts).run()
}

class Trial {
  private readonly template: Template
  private readonly rnd: Random
  private readonly opts: TrialOptions
  private readonly net = new Network()
  private readonly dir = simTempDir('grapevine-sim-trial-')
  private readonly sims: SimPeer[] = []
  private readonly schedule: string[] = []
  private readonly logs: string[] = []
  private readonly errors: Error[] = []
  private readonly counts: Record<string, number> = {}
  private readonly expected: Expected = { acked: new Map(), created: new Set(), deleted: new Set() }
  private child: ChildProcess | null = null
  private readonly t0 = performance.now()

  constructor(template: Template, rnd: Random, opts: TrialOptions) {
    this.template = template
    this.rnd = rnd
    this.opts = opts
  }

  private readonly cpu0 = process.cpuUsage()

  /** A line of the schedule, with the time since the trial began (and the CPU time this process spent meanwhile). */
  private note(line: string): void {
    const cpu = process.cpuUsage(this.cpu0)
    const cpuMs = ((cpu.user + cpu.system) / 1000).toFixed(0)
    this.schedule.push(`${(performance.now() - this.t0).toFixed(0).padStart(6)} ms ${`(cpu ${cpuMs})`.padStart(11)}  ${line}`)
  }

  private count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1
  }

  /**
   * The log of one run of a peer: warnings and errors are kept for a failure's report. An error fails
   * the trial, except once the peer is stopping: gossip and catch-up still deliver to it then, and
   * what arrives after its store closed is logged as an error and dropped (catch-up brings it back
   * later); those are counted, as engine findings, not failures.
   */
  private logFor(name: string, run: PeerRun): Log {
    return (level, message) => {
      testLog(level, message)
      if (level !== 'warn' && level !== 'error') return
      const when = run.stopped ? ' (after its stop)' : run.stopping ? ' (stopping)' : ''
      this.logs.push(`${(performance.now() - this.t0).toFixed(0).padStart(6)} ms ${name} ${level}${when} ${message}`)
      if (this.logs.length > 400) this.logs.splice(0, this.logs.length - 400)
      if (level !== 'error') return
      if (run.stopped) this.count('errors-logged-after-stop')
      else if (run.stopping) this.count('errors-logged-while-stopping')
      else this.errors.push(new Error(`${name} logged an error: ${message}`))
    }
  }

  async run(): Promise<TrialResult> {
    const { rnd } = this
    // The trial's shape, drawn first and always in the same amount.
    const n = rnd.pick(PEER_COUNTS)
    const order = this.template.members.map((m) => m)
    for (let i = order.length - 1; i > 0; i--) {
      const j = rnd.int(i + 1)
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    const steps = rnd.between(4, 9)
    const kill = rnd.next() < this.opts.killChance
    const killAt = rnd.int(steps)
    const killDraws = { peer: rnd.next(), seed: rnd.int(2 ** 32), acks: rnd.between(1, 12) }
    const checkStatus = rnd.next() < this.opts.syncStatus.chance
    try {
      for (const member of order.slice(0, n)) {
        const profile = join(this.dir.path, member.name)
        cpSync(member.profile, profile, { recursive: true })
        this.sims.push({ name: member.name, member, profile, peer: null, client: null, run: null, inflight: new Set() })
      }
      this.sims.sort((a, b) => (a.name < b.name ? -1 : 1))
      this.note(`${n} peers: ${this.sims.map((s) => s.name).join(' ')}; ${steps} steps${kill ? `; kill -9 before step ${killAt}` : ''}`)
      await Promise.all(this.sims.map((s) => this.start(s)))
      await this.connectAll()
      this.note('started and connected')
      for (let step = 0; step < steps; step++) {
        if (kill && step === killAt) await this.killPhase(killDraws)
        await this.step(step)
        this.throwIfFailed()
      }
      this.note('heal, start every peer, converge')
      await this.settleOps()
      this.note('operations done')
      this.net.heal()
      for (const s of this.sims) if (!s.peer) await this.start(s)
      this.note('every peer started')
      await this.connectAll()
      this.throwIfFailed()
      await checkConverged(this.running(), this.template.ws, this.expected, () => this.connectAll(), this.note.bind(this))
      this.throwIfFailed()
      // Runs sealed by the peers as they run now (those of peers' runs before a restart are not counted).
      const sealed = this.running().reduce((n, s) => n + s.peer!.stats().runs.sealed, 0)
      if (sealed) this.counts['runs sealed'] = (this.counts['runs sealed'] ?? 0) + sealed
      // And runs sent at once of keys sent in one request (sync/runs.ts `sealLive`).
      const live = this.running().reduce((n, s) => n + s.peer!.stats().runs.live, 0)
      if (live) this.counts['live runs'] = (this.counts['live runs'] ?? 0) + live
      // And covers made of own changes that left alone (sync/own-covers.ts), by the peers as they run now.
      const covers = this.running().reduce((n, s) => n + s.peer!.stats().covers.covers, 0)
      if (covers) this.counts['covers made'] = (this.counts['covers made'] ?? 0) + covers
      const stale = checkStatus ? await staleSyncStatus(this.running(), this.template.ws, this.opts.syncStatus.waitMs) : []
      if (stale.length) {
        const what = `sync status still stale ${this.opts.syncStatus.waitMs} ms after convergence:\n${stale.join('\n')}`
        if (this.opts.syncStatus.strict) throw new Error(what)
        this.note(what)
      }
      this.note('done')
      const status = { checked: checkStatus, stale }
      return { peers: n, steps, counts: this.counts, ms: performance.now() - this.t0, status, schedule: this.schedule, logs: this.logs }
    } catch (err) {
      throw new TrialFailure(err, this.schedule, this.logs)
    } finally {
      this.child?.kill('SIGKILL')
      await Promise.allSettled(this.sims.map((s) => this.stop(s)))
      this.dir.remove()
    }
  }

  private throwIfFailed(): void {
    if (this.errors.length) throw this.errors[0]
  }

  private running(): SimPeer[] {
    return this.sims.filter((s) => s.peer !== null)
  }

  /** The running peer at fraction `x` of the running ones (in name order). */
  private pickRunning(x: number): SimPeer {
    const r = this.running()
    return r[Math.floor(x * r.length)]!
  }

  private async start(s: SimPeer): Promise<void> {
    const run: PeerRun = { stopping: false, stopped: false }
    s.run = run
    // Own changes that left alone go under covers soon and in small numbers (sync/own-covers.ts), so that
    // trials have covers racing partitions, restarts and duplicated delivery.
    s.peer = await startPeer(s.profile, {
      log: this.logFor(s.name, run),
      limits: { deny: this.net.denyFor(s.member.deviceId) },
      covers: { idleMs: 150, min: 2 },
    })
    s.client = s.peer.connect()
  }

  private async stop(s: SimPeer): Promise<void> {
    const peer = s.peer
    if (!peer) return
    while (s.inflight.size) await Promise.allSettled([...s.inflight])
    s.client?.close()
    s.client = null
    s.peer = null
    const run = s.run!
    run.stopping = true
    try {
      await peer.stop()
    } finally {
      run.stopped = true
    }
  }

  /** Waits for every operation under way. */
  private async settleOps(): Promise<void> {
    for (;;) {
      const all = this.sims.flatMap((s) => [...s.inflight])
      if (all.length === 0) return
      await Promise.allSettled(all)
    }
  }

  /** Runs `fn` on `s` without waiting for it; a failure fails the trial unless `tolerated`. */
  private launch(s: SimPeer, what: string, fn: (peer: Peer, client: PeerClient) => Promise<void>, tolerated = false, also?: SimPeer): void {
    const p = fn(s.peer!, s.client!).catch((err: Error) => {
      if (tolerated) this.note(`  (${s.name} ${what}: ${err.message})`)
      else this.errors.push(new Error(`${s.name} ${what} failed: ${err.message}`, { cause: err }))
    })
    for (const t of also ? [s, also] : [s]) {
      t.inflight.add(p)
      void p.finally(() => t.inflight.delete(p))
    }
  }

  private connected(a: SimPeer, b: SimPeer): boolean {
    return a.peer!.node.getConnections(b.peer!.node.peerId).some((c) => c.status === 'open')
  }

  /** Dials every pair of running peers the network lets meet and that are not connected. */
  private async connectAll(): Promise<void> {
    const r = this.running()
    const dials: Promise<unknown>[] = []
    for (const [i, a] of r.entries())
      for (const b of r.slice(i + 1)) {
        if (this.net.blocked(a.member.deviceId, b.member.deviceId) || this.connected(a, b)) continue
        dials.push(a.peer!.node.dial(b.peer!.node.getMultiaddrs(), { signal: AbortSignal.timeout(5_000) }).catch(() => {}))
      }
    await Promise.all(dials)
  }

  /**
   * The document at fraction `x` of the listing, sorted (so the same fraction picks the same document
   * whatever the listing's order), deleted ones too; null if nothing of it is applied here yet (only
   * replayed changes whose deps have not come): an edit there would not build on its first change.
   */
  private async docAt(c: PeerClient, x: number, what: string): Promise<{ id: string; title: string } | null> {
    const docs = (await c.request('doc.list', { workspaceId: this.template.ws, includeDeleted: true })).sort((a, b) =>
      a.id < b.id ? -1 : 1,
    )
    const doc = docs[Math.floor(x * docs.length)]!
    this.note(`  (${what} on ${doc.id.slice(0, 8)})`)
    if ((await c.request('doc.read', { docId: doc.id })).heads.length === 0) {
      this.count('edit-skipped')
      return null
    }
    return doc
  }

  private acked(docId: string, hash: string | null): void {
    if (!hash) return
    const set = this.expected.acked.get(docId) ?? new Set()
    this.expected.acked.set(docId, set.add(hash))
  }

  private async step(i: number): Promise<void> {
    const { rnd } = this
    // Always the same draws per step, whatever runs: the schedule depends on the seed only.
    const kind = kindOf(rnd.next())
    const r = Array.from({ length: 12 }, () => rnd.next())
    const text = rnd.text(12)
    const own = rnd.fork()
    this.count(kind)
    const ws = this.template.ws
    switch (kind) {
      case 'insert': {
        const s = this.pickRunning(r[0]!)
        const ins = text.slice(0, 1 + Math.floor(r[3]! * 12))
        // Half the time typed key by key, a change each (runs form of such keys made with no connection),
        // and of those half sent together, as keys typed within one frame (a run at once when connected).
        const typed = r[4]! < 0.5
        const burst = typed && r[5]! < 0.5
        this.note(`${i}: ${s.name} ${burst ? 'types in one frame' : typed ? 'types' : 'inserts'} '${ins}'`)
        this.launch(s, 'insert', async (_p, c) => {
          const doc = await this.docAt(c, r[1]!, `${s.name} step ${i}`)
          if (!doc) return
          if (typed) for (const h of await clientType(c, doc.id, r[2]!, ins, burst)) this.acked(doc.id, h)
          else
            this.acked(doc.id, await clientEdit(c, doc.id, (d) => A.splice(d, ['text'], Math.floor(r[2]! * (d.text.length + 1)), 0, ins)))
        })
        break
      }
      case 'remove': {
        const s = this.pickRunning(r[0]!)
        this.note(`${i}: ${s.name} deletes text`)
        this.launch(s, 'delete text', async (_p, c) => {
          const doc = await this.docAt(c, r[1]!, `${s.name} step ${i}`)
          if (!doc) return
          this.acked(
            doc.id,
            await clientEdit(c, doc.id, (d) => {
              const len = d.text.length
              if (len === 0) return
              const at = Math.floor(r[2]! * len)
              A.splice(d, ['text'], at, Math.min(len - at, 1 + Math.floor(r[3]! * 8)))
            }),
          )
        })
        break
      }
      case 'title': {
        const s = this.pickRunning(r[0]!)
        const title = `T ${text.slice(0, 1 + Math.floor(r[2]! * 8))}`
        this.note(`${i}: ${s.name} renames to '${title}'`)
        this.launch(s, 'rename', async (_p, c) => {
          const doc = await this.docAt(c, r[1]!, `${s.name} step ${i}`)
          if (!doc) return
          await c.request('doc.rename', { docId: doc.id, title })
        })
        break
      }
      case 'replace': {
        const s = this.pickRunning(r[0]!)
        this.note(`${i}: ${s.name} sets the whole text`)
        this.launch(s, 'set text', async (_p, c) => {
          const doc = await this.docAt(c, r[1]!, `${s.name} step ${i}`)
          if (!doc) return
          const old = (await c.request('doc.read', { docId: doc.id })).text
          const a = Math.floor(r[2]! * (old.length + 1))
          const b = a + Math.floor(r[3]! * (old.length - a + 1))
          await c.request('doc.setText', { docId: doc.id, text: `${old.slice(0, a)}${text}${old.slice(b)}` })
        })
        break
      }
      case 'create': {
        const s = this.pickRunning(r[0]!)
        this.note(`${i}: ${s.name} creates a document`)
        this.launch(s, 'create', async (_p, c) => {
          const doc = await c.request('doc.create', { workspaceId: ws, title: `D ${text.slice(0, 4)}`, text: text.slice(4) })
          this.note(`  (${s.name} step ${i} created ${doc.id.slice(0, 8)})`)
          this.expected.created.add(doc.id)
        })
        break
      }
      case 'delete-doc': {
        const s = this.pickRunning(r[0]!)
        this.note(`${i}: ${s.name} deletes a document`)
        this.launch(s, 'delete document', async (_p, c) => {
          const doc = await this.docAt(c, r[1]!, `${s.name} step ${i}`)
          if (!doc) return
          await c.request('doc.delete', { docId: doc.id })
          this.expected.deleted.add(doc.id)
        })
        break
      }
      case 'sync-now': {
        const s = this.pickRunning(r[0]!)
        this.note(`${i}: ${s.name} catch-up now (not awaited)`)
        this.launch(s, 'sync now', (p) => p.syncNow())
        break
      }
      case 'partition': {
        const k = r[0]! < 0.8 ? 2 : 3
        const side = this.sims.map((_, j) => Math.floor(r[1 + j]! * k))
        if (new Set(side).size === 1) side[0] = (side[0]! + 1) % k
        const groups = Array.from({ length: k }, (_, g) => this.sims.filter((_, j) => side[j] === g))
        this.note(`${i}: partition ${groups.map((g) => `{${g.map((s) => s.name).join(' ')}}`).join(' ')}`)
        this.net.partition(groups.map((g) => g.map((s) => s.member.deviceId)))
        await this.hangUpBlocked()
        break
      }
      case 'alone': {
        // One peer cut off from every other, typing right away: what it types leaves as runs (sync/runs.ts).
        const s = this.pickRunning(r[0]!)
        const keys = text.slice(0, 3 + Math.floor(r[3]! * 10))
        this.note(`${i}: ${s.name} alone, types '${keys}'`)
        this.net.partition([this.sims.filter((x) => x !== s).map((x) => x.member.deviceId), [s.member.deviceId]])
        await this.hangUpBlocked()
        this.launch(s, 'type alone', async (_p, c) => {
          const doc = await this.docAt(c, r[1]!, `${s.name} step ${i}`)
          if (!doc) return
          for (const h of await clientType(c, doc.id, r[2]!, keys)) this.acked(doc.id, h)
        })
        break
      }
      case 'heal': {
        this.note(`${i}: heal`)
        this.net.heal()
        await this.connectAll()
        break
      }
      case 'restart': {
        const s = this.sims[Math.floor(r[0]! * this.sims.length)]!
        if (!s.peer) {
          this.note(`${i}: ${s.name} starts again`)
          await this.start(s)
          await this.connectAll()
        } else if (r[1]! < 0.5 || this.running().length < 3) {
          this.note(`${i}: ${s.name} restarts (clean stop)`)
          this.count('clean-restart')
          await this.stop(s)
          await this.start(s)
          await this.connectAll()
        } else {
          this.note(`${i}: ${s.name} stops (clean), stays down`)
          this.count('clean-stop')
          await this.stop(s)
        }
        break
      }
      case 'replay-gossip': {
        const s = this.pickRunning(r[0]!)
        const source = this.sims[Math.floor(r[1]! * this.sims.length)]!
        const picked = this.pickStored(source, r[2]!)
        if (!picked) break
        const items = duplicateAndShuffle(picked.items, own)
        const parts = Math.min(items.length, own.between(1, 3))
        this.note(
          `${i}: ${s.name} gossips ${picked.items.length} changes of ${source.name}'s as ${items.length} items in ${parts} messages`,
        )
        this.launch(
          s,
          'replay over gossip',
          async (p) => {
            const topic = workspaceTopic(ws)
            for (let k = 0; k < parts; k++) {
              const chunk = items.slice(Math.floor((k * items.length) / parts), Math.floor(((k + 1) * items.length) / parts))
              const data = encodeMessage({ t: 'changes', v: PEER_PROTOCOL_VERSION, ws, doc: picked.docId, items: chunk })
              // Some messages twice: gossipsub's seen-cache drops an identical message id, a new sequence number passes it.
              for (let times = own.between(1, 2); times > 0; times--) await p.node.services.pubsub.publish(topic, data)
            }
          },
          true,
        )
        break
      }
      case 'replay-catchup': {
        const s = this.pickRunning(r[0]!)
        const others = this.running().filter((o) => o !== s)
        if (others.length === 0) break
        const target = others[Math.floor(r[1]! * others.length)]!
        const source = this.sims[Math.floor(r[2]! * this.sims.length)]!
        const picked = this.pickStored(source, r[3]!)
        if (!picked) break
        const items = duplicateAndShuffle(picked.items, own)
        this.note(
          `${i}: ${s.name} offers ${target.name} ${picked.items.length} changes of ${source.name}'s by catch-up as ${items.length} items`,
        )
        const targetId = target.peer!.node.peerId
        this.launch(
          s,
          'replay over catch-up',
          async (p) => {
            await catchupInject(p.node, targetId, ws, picked.docId, items)
          },
          true,
          target,
        )
        break
      }
      case 'pause': {
        const ms = Math.floor(r[0]! * 60)
        this.note(`${i}: pause ${ms} ms`)
        await sleep(ms)
        break
      }
    }
    // Sometimes the next step follows at once, sometimes after a moment.
    await (r[11]! < 0.4 ? new Promise((res) => setImmediate(res)) : sleep(Math.floor(r[10]! * 25)))
  }

  /** The stored signed changes of one document of `s`'s database (running or not): the document at fraction `x`. */
  /**
   * Changes `s` stores, to be delivered again by someone: only those that have left it. Its own changes
   * that no other peer holds yet may be ones it keeps to seal into a run (sync/runs.ts), which an honest
   * peer never sends alone; a replay of them would stand for a modified client, not a fault of the network.
   */
  private pickStored(s: SimPeer, x: number): { docId: string; items: SignedChange[] } | null {
    const left = new Set<string>()
    for (const o of this.sims) if (o !== s) for (const c of storedChanges(join(o.profile, DB_FILE))) left.add(c.hash)
    const byDoc = new Map<string, SignedChange[]>()
    for (const c of storedChanges(join(s.profile, DB_FILE))) {
      if (c.item.a === s.member.deviceId && !left.has(c.hash)) continue
      byDoc.set(c.docId, [...(byDoc.get(c.docId) ?? []), c.item])
    }
    const ids = [...byDoc.keys()].sort()
    if (ids.length === 0) return null
    const docId = ids[Math.floor(x * ids.length)]!
    // Well under a gossip message's limits, even with every item three times.
    return { docId, items: byDoc.get(docId)!.slice(-150) }
  }

  private async hangUpBlocked(): Promise<void> {
    const r = this.running()
    const hangups: Promise<void>[] = []
    for (const a of r)
      for (const b of r)
        if (a !== b && this.net.blocked(a.member.deviceId, b.member.deviceId) && this.connected(a, b))
          hangups.push(a.peer!.node.hangUp(b.peer!.node.peerId).catch(() => {}))
    await Promise.all(hangups)
  }

  /**
   * A peer is stopped, run again in a child process that edits as fast as it can, and SIGKILLed after
   * its `acks`-th acknowledged edit; restarted here, its database must hold every acknowledged change.
   */
  private async killPhase(draws: { peer: number; seed: number; acks: number }): Promise<void> {
    const s = this.pickRunning(draws.peer)
    this.count('kill-9')
    const docs = (await s.client!.request('doc.list', { workspaceId: this.template.ws, includeDeleted: true })).map((d) => d.id).sort()
    await this.stop(s)
    const bootstrap = this.running()
      .filter((o) => !this.net.blocked(o.member.deviceId, s.member.deviceId))
      .flatMap((o) => o.peer!.node.getMultiaddrs().map(String))
    this.note(`kill -9: ${s.name} runs in a child process, killed after ${draws.acks} acknowledged edits`)
    const child = spawn(process.execPath, [CHILD, s.profile, String(draws.seed), docs.join(','), ...bootstrap], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    const acked: [string, string][] = []
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    await new Promise<void>((resolve, reject) => {
      let buffered = ''
      const timer = setTimeout(
        () =>
          reject(new Error(`the child acknowledged ${acked.length} of ${draws.acks} edits in ${CHILD_LIMIT_MS} ms; its stderr: ${stderr}`)),
        CHILD_LIMIT_MS,
      )
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the child exited (${code}) after ${acked.length} acknowledged edits; its stderr: ${stderr}`))
      })
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop()!
        for (const l of lines) {
          const [word, docId, hash] = l.split(' ')
          if (word === 'ACK' && docId && hash) acked.push([docId, hash])
        }
        if (acked.length >= draws.acks) {
          clearTimeout(timer)
          child.kill('SIGKILL')
          resolve()
        }
      })
    })
    await exited
    this.child = null
    this.note(`kill -9: ${s.name} killed with ${acked.length} edits acknowledged; restarts here`)
    await this.start(s)
    const stored = new Set(
      storedChanges(s.peer!.dbPath, runOpener(s.peer!, this.template.ws)).flatMap((c) => c.holds.map((h) => `${c.docId}/${h}`)),
    )
    const lost = acked.filter(([d, h]) => !stored.has(`${d}/${h}`))
    if (lost.length) throw new Error(`kill -9 lost ${lost.length} of ${acked.length} acknowledged edits of ${s.name}: ${lost.join(' ')}`)
    for (const [d, h] of acked) this.acked(d, h)
    await this.connectAll()
  }
}
