/**
 * Catch-up over a direct stream, for what gossip missed (offline, late joiners, lost messages).
 * Catch-up 2 (frames in wire/peer-protocol.ts), the dialer D and the responder R:
 *
 *   1. D sends one 32-byte digest of the workspace (16 bytes over its documents and their heads, 16
 *      over its membership ops). If R's is the same, R says so and the session ends: one short frame
 *      each way (64 and 6 bytes).
 *   2. Otherwise the documents are reconciled by ranges (reconcile.ts): D learns which documents
 *      differ and R's heads of each, in rounds whose bytes follow the differences, not the total.
 *      Membership ops travel only when their halves differ (R's all, then D's that R lacked), and are
 *      ingested before any change.
 *   3. Per differing document the side that knows the other's heads sends first: D sends R what R
 *      lacks where it knows all of R's heads, and asks for the rest with its heads and a have-set
 *      (ancestry.ts); R sends what D asked for, and asks for what it still lacks; D answers that.
 *      So the side that knows less never sends history the other already has.
 *
 * One session at a time per peer and workspace, whoever dialled (`sync`, `respond`), and the sessions
 * of a workspace with different peers take turns (workspace-turns.ts): a device back to several
 * teammates takes what it missed from one, then finds the others equal. Each change travels with its
 * author's signature and passes the same validation as gossip.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { createHash } from 'node:crypto'
import { MAX_HEADS, MAX_STREAM_FRAME_BYTES, MAX_SUMMARY_DOCS } from '../../../shared/limits.ts'
import type { PeerStore } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import type { GrapevineNode } from '../net/node.ts'
import { describeFailure } from '../net/failure.ts'
import { guardStreams, peerLimitsOf } from '../net/limits.ts'
import type { Log } from '../log.ts'
import {
  CATCHUP_1_PROTOCOL,
  CATCHUP_PROTOCOL,
  catchupFrame,
  decodeMessage,
  encodeMessage,
  MAX_RANGES_PER_FRAME,
  PEER_PROTOCOL_VERSION,
  WireError,
  type CatchupFrame,
  type SignedChange,
  type SignedOp,
  type WireHeadsRequest,
} from '../wire/peer-protocol.ts'
import { sha256 } from '../identity/keys.ts'
import { envelopeOf, isRejection, isUnsigned, validateChange, type ValidChange } from './change-validation.ts'
import { changesIn } from './runs.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import type { Documents } from './documents.ts'
import { WorkspaceTurns, type WorkspaceTurn } from './workspace-turns.ts'
import { heldChangesOf, type HeldChanges } from './held-changes.ts'
import { headsKey } from './doc-content.ts'
import { packId, rangesFromWire, rangesToWire, ReconcileError, Reconciler, unpackId, type Range, type WireRange } from './reconcile.ts'
import { HaveSet, haveOf } from './ancestry.ts'

const FRAME_ITEMS = 8192
const FRAME_BYTES = 1024 * 1024
const SESSION_TIMEOUT_MS = 5 * 60_000
/** A non-member gets this long to take its refusal. */
const REFUSE_TIMEOUT_MS = 2_000
/** Reconciliation messages each way; about log16(documents / 8) are needed. */
const MAX_RECON_ROUNDS = 24
/** Parts of one reconciliation message. */
const MAX_MESSAGE_PARTS = 256
/** Have-set bytes one side may ask with in one turn (64 MiB: a million changes of 8 bytes, eight times over). */
const MAX_HAVE_BYTES_PER_TURN = 64 * 1024 * 1024
/** After a `busy` refusal: how long the other side's session may take to reach this peer. */
const BUSY_WAIT_MS = 5_000
/** A session that moves no frame for this long lets the next session of its workspace go (workspace-turns.ts)... */
const TURN_STALL_MS = 2_000
/** ...and the next waits this long at most, moving frames or not. */
const TURN_MAX_WAIT_MS = 10_000
const DIGEST_TAG = 'grapevine catch-up 2: workspace digest'
const OLD_VERSION_REASON = `this peer speaks catch-up 2 (${CATCHUP_PROTOCOL}) only: update Grapevine to sync with it`

export interface CatchupStats {
  /** Sessions this peer answered (past the membership checks). */
  sessions: number
  /** Sessions (either side) that found the workspace equal at once. */
  equal: number
  framesSent: number
  bytesSent: number
  /** Times this peer, dialling, waited for an answer after sending. */
  roundTrips: number
  /** Changes sent and taken (a run counts the changes it holds). */
  changesSent: number
  changesReceived: number
  rejected: number
  /** Sessions that waited for another of their workspace to end first (workspace-turns.ts). */
  waitedTurns: number
}

type Frame<T extends CatchupFrame['t']> = Extract<CatchupFrame, { t: T }>
type Heads = Uint8Array[]

/** The other side broke the protocol: it is told why (`bad-frame`) before the stream is dropped. */
class ProtocolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProtocolError'
  }
}

/** The other side refused the session. */
class Refused extends Error {
  readonly code: string | undefined
  constructor(reason: string, code: string | undefined) {
    super(`peer refused catch-up: ${reason}`)
    this.name = 'Refused'
    this.code = code
  }
}

/** This side refuses the session midway (a member whose ops say it left). */
class Refusal extends Error {}

class FrameStream {
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly stats: CatchupStats
  private readonly dialer: boolean
  private sent = false
  /** Told of every frame sent or read (the session's turn in its workspace: workspace-turns.ts). */
  turn: WorkspaceTurn | undefined
  constructor(stream: Stream, stats: CatchupStats, dialer: boolean) {
    this.lp = lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES })
    this.stats = stats
    this.dialer = dialer
  }
  async send(frame: CatchupFrame, signal: AbortSignal): Promise<void> {
    const data = encodeMessage(frame)
    this.stats.framesSent++
    this.stats.bytesSent += data.byteLength
    this.sent = true
    this.turn?.touch()
    await this.lp.write(data, { signal })
  }
  async read(signal: AbortSignal): Promise<CatchupFrame> {
    if (this.dialer && this.sent) this.stats.roundTrips++
    this.sent = false
    const data = await this.lp.read({ signal })
    this.turn?.touch()
    const f = decodeMessage(catchupFrame, data.subarray(), MAX_STREAM_FRAME_BYTES, 'catch-up frame')
    if (f.t === 'refuse') throw new Refused(f.reason, f.code)
    return f
  }
  async expect<T extends CatchupFrame['t']>(t: T, signal: AbortSignal): Promise<Frame<T>> {
    const f = await this.read(signal)
    if (f.t !== t) throw new ProtocolError(`expected ${t}, got ${f.t}`)
    return f as Frame<T>
  }
}

/** A catch-up session this peer dialled failed: at which step, and why. */
export class CatchupError extends Error {
  readonly step: string
  readonly reason: string
  constructor(step: string, reason: string, cause: unknown) {
    super(`catch-up failed while ${step}: ${reason}`, { cause })
    this.name = 'CatchupError'
    this.step = step
    this.reason = reason
  }
}

/** The Error to abort a stream with, and to hand on, for whatever was thrown. */
function asError(err: unknown, message: string): Error {
  return err instanceof Error ? err : new Error(message)
}

/** An op's hash; the same op objects come back from `signedOps` at every session, so each is hashed once. */
const opHashes = new WeakMap<SignedOp, string>()
const opHash = (op: SignedOp): string => {
  let h = opHashes.get(op)
  if (h === undefined) {
    h = sha256(op.b).toString('hex')
    opHashes.set(op, h)
  }
  return h
}
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b)
const toBin = (heads: readonly string[]): Heads => heads.slice(0, MAX_HEADS).map((h) => Buffer.from(h, 'hex'))
const toHex = (heads: readonly Uint8Array[]): string[] => heads.map((h) => Buffer.from(h).toString('hex'))
/** The digest `Documents.digests` gives a document with these heads. */
const headsDigest = (heads: Heads): Uint8Array => sha256(headsKey(toHex(heads))).subarray(0, 16)
/** A frame over the size cap is refused by its length prefix, before its bytes are read. */
const OVERSIZED = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError'])
const isProtocolError = (err: unknown): boolean =>
  err instanceof ProtocolError ||
  err instanceof ReconcileError ||
  err instanceof WireError ||
  (err instanceof Error && OVERSIZED.has(err.name))

/** What one side holds of a workspace when a session starts. */
interface Snapshot {
  ops: SignedOp[]
  /** 32 bytes: a digest of the documents and their heads, then one of the membership ops, 16 bytes each. */
  digest: Uint8Array
  rec: Reconciler<Heads>
  /** Each document's fingerprint (of its heads) when the snapshot was taken. */
  fps: Map<string, Uint8Array>
}
const DOCS = [0, 16] as const
const OPS = [16, 32] as const
const sameHalf = (a: Uint8Array, b: Uint8Array, [from, to]: readonly [number, number]): boolean =>
  sameBytes(a.subarray(from, to), b.subarray(from, to))

/** What one side's turn brought. */
interface Turn {
  requests: WireHeadsRequest[]
  /** Whether it sent ops. */
  ops: boolean
  /** Documents it sent changes of or asked for. */
  docs: Set<string>
}

interface Lock {
  dialled: boolean
  done: Promise<void>
}

/** What catch-up is built from (libp2p-style components, as the other parts of a peer). */
export interface CatchupComponents {
  node: GrapevineNode
  workspaces: Workspaces
  keys: EpochKeys
  documents: Documents
  store: PeerStore
  log: Log
}

export class Catchup {
  /** The last measured round trip to each teammate (ms): a summary sent, its answer read. */
  private readonly rtts = new Map<string, number>()

  /** The round trip to `peerId` as the last catch-up this device started with it measured, if any. */
  rttOf(peerId: string): number | null {
    return this.rtts.get(peerId) ?? null
  }

  readonly stats: CatchupStats = {
    sessions: 0,
    equal: 0,
    framesSent: 0,
    bytesSent: 0,
    roundTrips: 0,
    changesSent: 0,
    changesReceived: 0,
    rejected: 0,
    waitedTurns: 0,
  }
  /** Sessions of one workspace, with whichever peers, take turns here. */
  private readonly turns = new WorkspaceTurns(TURN_STALL_MS, TURN_MAX_WAIT_MS)
  /** Sessions this peer dialled, by peer and workspace: a second `sync` joins the first. */
  private readonly dials = new Map<string, Promise<void>>()
  /** The session running with a peer for a workspace, dialled or answered: one at a time. */
  private readonly locks = new Map<string, Lock>()
  /** Who waits for this peer to answer a session (after a `busy` refusal of its own). */
  private readonly answerWaiters = new Map<string, Set<(done: Promise<void>) => void>>()
  /** When a session with a peer for a workspace last ended well, either side. */
  private readonly lastSynced = new Map<string, number>()
  private readonly node: GrapevineNode
  private readonly workspaces: Workspaces
  private readonly documents: Documents
  private readonly store: PeerStore
  private readonly log: Log
  private readonly held: HeldChanges
  private readonly keys: EpochKeys

  constructor(components: CatchupComponents) {
    const { node, workspaces, keys, documents, store, log } = components
    this.node = node
    this.workspaces = workspaces
    this.keys = keys
    this.documents = documents
    this.store = store
    this.log = log
    this.held = heldChangesOf(components)
  }

  async start(): Promise<void> {
    // Per-peer and strangers' rate limits (net/limits.ts) before a session starts.
    const respond = guardStreams(this.node, CATCHUP_PROTOCOL, (stream, connection) => this.respond(stream, connection))
    await this.node.handle(CATCHUP_PROTOCOL, respond, { maxInboundStreams: 16 })
    // A peer of an older version is told why nothing syncs, rather than finding a protocol it cannot negotiate.
    await this.node.handle(CATCHUP_1_PROTOCOL, (stream, connection) => this.refuseOldVersion(stream, connection), { maxInboundStreams: 2 })
  }

  /**
   * Runs catch-up of one workspace with a peer. While this peer's own session runs, a call joins
   * it; while this peer answers one the peer dialled, it waits for that to end, then dials. With
   * `unlessSyncedSince`, it does nothing if a session (either side's) ended well after that time.
   * A `busy` refusal (the peer runs a session with this one already, which wins) is no failure:
   * the call then waits for this peer to answer that session.
   */
  sync(peer: PeerId, workspaceId: string, unlessSyncedSince?: number): Promise<void> {
    const key = `${peer.toString()}/${workspaceId}`
    const running = this.dials.get(key)
    if (running) return running
    const p = this.dialLocked(peer, workspaceId, key, unlessSyncedSince).finally(() => this.dials.delete(key))
    this.dials.set(key, p)
    return p
  }

  private async dialLocked(peer: PeerId, ws: string, key: string, since: number | undefined): Promise<void> {
    for (let l = this.locks.get(key); l; l = this.locks.get(key)) await l.done
    if (since !== undefined && (this.lastSynced.get(key) ?? -1) >= since) return
    const release = this.lock(key, true)
    let outcome: 'done' | 'busy'
    const inTurn = await this.turns.take(ws)
    if (inTurn.waited) this.stats.waitedTurns++
    try {
      outcome = await this.dial(peer, ws, inTurn)
    } finally {
      inTurn.end()
      release()
    }
    if (outcome === 'busy') await this.answered(key)
    // The keys the ops here bring (a joiner's, for one) are open when the caller goes on, whatever the session moved.
    await this.keys.settled(ws)
  }

  /** Takes the lock of `key` (free now); returns its release. */
  private lock(key: string, dialled: boolean): () => void {
    let release!: () => void
    const done = new Promise<void>((resolve) => (release = resolve))
    this.locks.set(key, { dialled, done })
    if (!dialled) {
      for (const notify of this.answerWaiters.get(key) ?? []) notify(done)
      this.answerWaiters.delete(key)
    }
    return () => {
      if (this.locks.get(key)?.done === done) this.locks.delete(key)
      release()
    }
  }

  /** Waits until this peer has answered a session for `key` (the one that made ours `busy`), or a while passed. */
  private async answered(key: string): Promise<void> {
    const now = this.locks.get(key)
    if (now && !now.dialled) return now.done
    let notify!: (done: Promise<void>) => void
    const started = new Promise<Promise<void>>((resolve) => (notify = resolve))
    const waiters = this.answerWaiters.get(key) ?? new Set()
    waiters.add(notify)
    this.answerWaiters.set(key, waiters)
    let timer: NodeJS.Timeout | undefined
    const gaveUp = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), BUSY_WAIT_MS)
      timer.unref()
    })
    const done = await Promise.race([started, gaveUp])
    clearTimeout(timer)
    waiters.delete(notify)
    if (waiters.size === 0 && this.answerWaiters.get(key) === waiters) this.answerWaiters.delete(key)
    if (done) await done
  }

  /** Rejects with a CatchupError that says at which step the session failed and why; 'busy' if refused as such. */
  private async dial(peer: PeerId, ws: string, inTurn: WorkspaceTurn): Promise<'done' | 'busy'> {
    const signal = AbortSignal.timeout(SESSION_TIMEOUT_MS)
    const remote = peer.toString()
    let step = 'opening a stream'
    let stream: Stream | undefined
    let io: FrameStream | undefined
    try {
      stream = await this.node.dialProtocol(peer, CATCHUP_PROTOCOL, { signal })
      io = new FrameStream(stream, this.stats, true)
      io.turn = inTurn
      step = 'sending the summary'
      const s = this.snapshot(ws, true)
      const sentAt = performance.now()
      await io.send({ t: 'hi', v: PEER_PROTOCOL_VERSION, w: packId(ws), d: s.digest }, signal)
      step = 'waiting for the answer to the summary'
      let first = await io.read(signal)
      // One round trip, plus the other side's digest of the workspace (a lookup when nothing changed).
      this.rtts.set(remote, performance.now() - sentAt)
      if (first.t === 'eq') {
        this.stats.equal++
        this.finish(ws, remote, this.recordedStale(ws, remote))
        step = 'closing the stream'
        await stream.close({ signal })
        return 'done'
      }
      // The membership ops differ: the other side sent all of its own first.
      let theirOps: Set<string> | null = null
      while (first.t === 'ops') {
        theirOps = await this.takeOps(ws, first.ops, theirOps)
        first = await io.read(signal)
      }
      if (first.t !== 'rc') throw new ProtocolError(`expected eq, ops or rc, got ${first.t}`)
      step = 'reconciling the documents'
      let ask = await this.readMessage(io, s.rec, first, signal)
      for (let rounds = 1; ask.length > 0; rounds++) {
        if (rounds >= MAX_RECON_ROUNDS) throw new ProtocolError(`reconciliation did not end within ${MAX_RECON_ROUNDS} rounds`)
        await this.sendMessage(io, ask, signal)
        ask = await this.readMessage(io, s.rec, await io.expect('rc', signal), signal)
      }
      // Ops first: the other side judges the changes that follow in the membership state they make.
      step = 'sending changes'
      if (theirOps) {
        const theirs = theirOps
        const lacking = s.ops.filter((op) => !theirs.has(opHash(op)))
        if (lacking.length > 0) await this.sendOps(io, lacking, signal)
      }
      const requests: WireHeadsRequest[] = []
      for (const docId of s.rec.ours) await this.sendMissing(io, ws, docId, [], undefined, signal)
      for (const docId of s.rec.theirs.keys()) requests.push({ i: packId(docId), h: [] })
      for (const [docId, theirs] of s.rec.differ) {
        const heads = toHex(theirs)
        // Knowing all its heads with their history, this side holds all it holds: it sends the rest.
        // Otherwise it asks (a head stored before its deps arrived does not count: see Documents.knows).
        if (this.documents.knows(docId, heads)) await this.sendMissing(io, ws, docId, heads, undefined, signal)
        else requests.push(this.request(remote, docId, heads))
      }
      await this.sendRequests(io, requests, signal)
      await io.send({ t: 'end' }, signal)
      step = 'receiving changes'
      const turn = await this.receiveTurn(io, ws, remote, false, signal)
      if (turn.requests.length > 0) {
        step = 'sending changes'
        for (const r of turn.requests) await this.answer(io, ws, r, signal)
        await io.send({ t: 'end' }, signal)
      }
      const involved = new Set([...s.rec.ours, ...s.rec.theirs.keys(), ...s.rec.differ.keys()])
      this.finish(ws, remote, [...involved, ...this.equalSince(ws, remote, s, involved)])
      step = 'closing the stream'
      await stream.close({ signal })
      return 'done'
    } catch (err) {
      if (err instanceof Refused && err.code === 'busy') {
        stream?.abort(err)
        return 'busy'
      }
      const cause = this.cause(err, signal)
      if (isProtocolError(err) && io && stream) await this.tellBadFrame(io, stream, cause)
      stream?.abort(asError(err, cause))
      throw new CatchupError(step, cause, err)
    }
  }

  /** The cause of a failed session; our own deadline first, since a timed-out wait may reject with anything. */
  private cause(err: unknown, signal: AbortSignal): string {
    if (signal.aborted) return `timed out after ${SESSION_TIMEOUT_MS / 1000} s (${describeFailure(err)})`
    if (err instanceof Error && err.name === 'UnsupportedProtocolError')
      return `the peer does not speak ${CATCHUP_PROTOCOL}: it runs an older version of Grapevine (${err.message})`
    if (err instanceof ProtocolError || err instanceof ReconcileError) return `the other side broke the protocol: ${err.message}`
    if (err instanceof Error && OVERSIZED.has(err.name))
      return `the other side sent a frame over the ${MAX_STREAM_FRAME_BYTES}-byte limit (${err.message})`
    return describeFailure(err)
  }

  private async respond(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(SESSION_TIMEOUT_MS)
    const io = new FrameStream(stream, this.stats, false)
    const remote = connection.remotePeer.toString()
    let step = 'waiting for the summary'
    // A peer that shares no workspace with us is refused before a byte of it is read.
    if (this.workspaces.shared(remote).length === 0)
      return this.refuse(io, stream, remote, 'not a member of any workspace here', 'not-member')
    let release: (() => void) | null = null
    let inTurn: WorkspaceTurn | undefined
    try {
      const hi = await io.expect('hi', signal)
      if (hi.v !== PEER_PROTOCOL_VERSION)
        return this.refuse(io, stream, remote, `peer protocol ${hi.v} asked, this peer speaks ${PEER_PROTOCOL_VERSION}`, 'version')
      const ws = unpackId(hi.w)
      // Membership from what we already hold: nothing a non-member sends is ingested. A new member whose
      // `add` has not reached us yet is refused until gossip or another catch-up brings it.
      const members = (): boolean =>
        this.workspaces.roleOf(ws, remote) !== undefined && this.workspaces.roleOf(ws, this.node.peerId.toString()) !== undefined
      if (!members()) return this.refuse(io, stream, remote, `not a member of ${ws}`, 'not-member')
      step = 'waiting for the session already running with this peer'
      const key = `${remote}/${ws}`
      release = await this.answerLock(key, remote, signal)
      if (!release)
        return this.refuse(io, stream, remote, 'a catch-up session of this workspace with this peer is running already (busy)', 'busy')
      step = 'waiting for a session of this workspace with another peer'
      inTurn = await this.turns.take(ws)
      if (inTurn.waited) this.stats.waitedTurns++
      io.turn = inTurn
      // The dialer may have given up while we waited.
      if (stream.status !== 'open') return
      this.stats.sessions++
      const s = this.snapshot(ws, false)
      if (sameBytes(hi.d, s.digest)) {
        step = 'answering the summary'
        this.stats.equal++
        await io.send({ t: 'eq' }, signal)
        this.finish(ws, remote, this.recordedStale(ws, remote))
        step = 'closing the stream'
        await stream.close({ signal })
        return
      }
      step = 'reconciling the documents'
      // Membership first: all of ours where they differ (they are few: and a joiner's key is among them); the
      // dialer sends back those we lack, and is refused then if they say it left or was removed.
      if (!sameHalf(hi.d, s.digest, OPS)) await this.sendOps(io, s.ops, signal)
      await this.sendMessage(io, sameHalf(hi.d, s.digest, DOCS) ? [] : s.rec.initial(), signal)
      let frame = await io.read(signal)
      for (let rounds = 1; frame.t === 'rc'; rounds++) {
        if (rounds >= MAX_RECON_ROUNDS) throw new ProtocolError(`reconciliation did not end within ${MAX_RECON_ROUNDS} rounds`)
        await this.sendMessage(io, await this.readMessage(io, s.rec, frame, signal), signal)
        frame = await io.read(signal)
      }
      step = 'receiving changes'
      const turn = await this.receiveTurn(io, ws, remote, true, signal, frame, members)
      step = 'sending changes'
      const back: WireHeadsRequest[] = []
      for (const r of turn.requests) {
        await this.answer(io, ws, r, signal)
        // Heads of theirs not here: they hold changes we lack (we asked nothing yet: they did not know our heads).
        const docId = unpackId(r.i)
        const heads = toHex(r.h)
        if (this.has(ws, docId) && !this.documents.knows(docId, heads)) back.push(this.request(remote, docId, heads))
      }
      await this.sendRequests(io, back, signal)
      await io.send({ t: 'end' }, signal)
      if (back.length > 0) {
        step = 'receiving changes'
        const last = await this.receiveTurn(io, ws, remote, true, signal, undefined, members)
        if (last.requests.length > 0 || last.ops) throw new ProtocolError('the last turn carries changes only')
      }
      // The dialer reconciled first and then sent or asked for every document it found different: the rest are equal.
      this.finish(ws, remote, [...turn.docs, ...this.equalSince(ws, remote, s, turn.docs)])
      step = 'closing the stream'
      await stream.close({ signal })
    } catch (err) {
      if (err instanceof Refusal) return this.refuse(io, stream, remote, err.message, 'not-member')
      const cause = this.cause(err, signal)
      this.log('warn', `catch-up with ${remote} failed while ${step}: ${cause}`)
      if (isProtocolError(err)) await this.tellBadFrame(io, stream, cause)
      stream.abort(asError(err, cause))
    } finally {
      inTurn?.end()
      release?.()
    }
  }

  /**
   * The lock of `key` for a session this peer answers, once free; null: refused as busy. A session
   * this peer dialled to the same peer for the same workspace (both dialled at once) wins if this
   * peer's id sorts first; otherwise this one waits for it to be refused.
   */
  private async answerLock(key: string, remote: string, signal: AbortSignal): Promise<(() => void) | null> {
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason)
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
    aborted.catch(() => {})
    for (let l = this.locks.get(key); l; l = this.locks.get(key)) {
      if (l.dialled && this.node.peerId.toString() < remote) return null
      await Promise.race([l.done, aborted])
    }
    return this.lock(key, false)
  }

  /** Refuses a session (counted per source in the log for non-members, never a line each); a refusal that cannot be delivered is dropped. */
  private async refuse(
    io: FrameStream,
    stream: Stream,
    remote: string,
    why: string,
    code: 'not-member' | 'busy' | 'version',
  ): Promise<void> {
    if (code === 'not-member') peerLimitsOf(this.node)?.note('catch-up not-member', remote, why)
    else if (code === 'version') peerLimitsOf(this.node)?.note('catch-up version', remote, why)
    const signal = AbortSignal.timeout(REFUSE_TIMEOUT_MS)
    try {
      await io.send({ t: 'refuse', code, reason: code === 'not-member' ? 'not a member of this workspace' : why }, signal)
      await stream.close({ signal })
    } catch (err) {
      stream.abort(asError(err, 'refused'))
    }
  }

  /** Best effort: tells the other side which of its frames broke the protocol, before the stream is dropped. */
  private async tellBadFrame(io: FrameStream, stream: Stream, cause: string): Promise<void> {
    if (stream.status !== 'open') return
    await io.send({ t: 'refuse', code: 'bad-frame', reason: cause.slice(0, 500) }, AbortSignal.timeout(REFUSE_TIMEOUT_MS)).catch(() => {})
  }

  private async refuseOldVersion(stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString()
    peerLimitsOf(this.node)?.note('catch-up version', remote, 'dialled catch-up 1')
    const signal = AbortSignal.timeout(REFUSE_TIMEOUT_MS)
    try {
      await lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES }).write(encodeMessage({ t: 'refuse', reason: OLD_VERSION_REASON }), {
        signal,
      })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(asError(err, 'refused'))
    }
  }

  /** The workspace as this side holds it now: ops, their digest, the documents to reconcile, and the digest of it all. */
  private snapshot(ws: string, initiator: boolean): Snapshot {
    const ops = this.workspaces.signedOps(ws)
    const opsDigest = sha256(`${DIGEST_TAG}: ops of ${ws}: ${ops.map(opHash).sort().join(',')}`)
    const items = this.documents.digests(ws).map(([id, fp]) => ({ id, fp }))
    const fps = new Map(items.map((i) => [i.id, i.fp]))
    const rec = new Reconciler<Heads>(items, {
      initiator,
      valueOf: (id) => toBin(this.documents.heads(id)),
      fpOf: headsDigest,
    })
    const docsDigest = createHash('sha256').update(`${DIGEST_TAG}: documents of ${ws}: `).update(rec.digest()).digest()
    const digest = Buffer.concat([docsDigest.subarray(0, 16), opsDigest.subarray(0, 16)])
    return { ops, digest, rec, fps }
  }

  /**
   * The documents a session found equal on both sides, whose heads have not changed here since: all of the
   * snapshot's but those in `involved` (sent, asked for, or found different). The other side holds this
   * side's heads of them, and the session records that, as an equal workspace's does; recording only the
   * documents that travelled left a teammate's record of an untouched document stale after a restart (a
   * heads announcement written late, or never made), and its sync status with it. Only those whose record
   * says otherwise are given (`recordedStale`): a workspace of 10,000 documents is not written again.
   */
  private equalSince(ws: string, remote: string, s: Snapshot, involved: Set<string>): string[] {
    return this.recordedStale(ws, remote).filter((id) => {
      const then = s.fps.get(id)
      return !involved.has(id) && then !== undefined && sameBytes(this.documents.digest(id), then)
    })
  }

  /** One reconciliation message, in as many `rc` frames as it takes. */
  private async sendMessage(io: FrameStream, ranges: Range<Heads>[], signal: AbortSignal): Promise<void> {
    const wire = rangesToWire(ranges)
    const frames: (typeof wire)[] = [[]]
    let size = 0
    for (const r of wire) {
      const cost = rangeBytes(r)
      const last = frames.at(-1)!
      if (last.length > 0 && (size + cost > FRAME_BYTES || last.length >= MAX_RANGES_PER_FRAME)) {
        frames.push([])
        size = 0
      }
      frames.at(-1)!.push(r)
      size += cost
    }
    for (const [i, r] of frames.entries()) await io.send({ t: 'rc', ...(i < frames.length - 1 ? { m: true as const } : {}), r }, signal)
  }

  /** Reads the rest of a reconciliation message that began with `first`; returns this side's answer. */
  private async readMessage(io: FrameStream, rec: Reconciler<Heads>, first: Frame<'rc'>, signal: AbortSignal): Promise<Range<Heads>[]> {
    let f = first
    for (let part = 1; ; part++) {
      const answer = rec.receive(rangesFromWire(f.r), f.m === true)
      if (answer) return answer
      if (part >= MAX_MESSAGE_PARTS) throw new ProtocolError(`a reconciliation message of more than ${MAX_MESSAGE_PARTS} parts`)
      f = await io.expect('rc', signal)
    }
  }

  /** Ingests ops from the other side before anything that follows them; returns their hashes added to `seen`. */
  private async takeOps(ws: string, ops: SignedOp[], seen: Set<string> | null): Promise<Set<string>> {
    const hashes = seen ?? new Set<string>()
    for (const op of ops) hashes.add(opHash(op))
    if (hashes.size > 4 * 4096) throw new ProtocolError('more than 16,384 membership ops')
    await this.workspaces.ingest(ws, ops)
    // Lockboxes for this device may have come with them: open them before the changes sealed under them.
    await this.keys.settled(ws)
    return hashes
  }

  private async sendOps(io: FrameStream, ops: SignedOp[], signal: AbortSignal): Promise<void> {
    let batch: SignedOp[] = []
    let size = 0
    for (const op of ops) {
      const cost = op.b.byteLength + 160
      if (batch.length > 0 && (size + cost > FRAME_BYTES || batch.length >= 4096)) {
        await io.send({ t: 'ops', ops: batch }, signal)
        batch = []
        size = 0
      }
      batch.push(op)
      size += cost
    }
    await io.send({ t: 'ops', ops: batch }, signal)
  }

  /**
   * Asks for what this side lacks of a document whose heads here do not include all of `theirHeads`:
   * with its heads, and those of theirs it holds and those the peer was last known to hold (a base
   * both hold), and a have-set of what it holds beyond that base.
   */
  private request(remote: string, docId: string, theirHeads: string[]): WireHeadsRequest {
    const recorded = this.store.listPeerDocHeads(docId).find((p) => p.peerId === remote)?.heads ?? []
    // What this device made with no connection leaves as runs, never one by one (sync/runs.ts).
    this.documents.sealRuns(docId)
    const base = [...new Set([...theirHeads, ...recorded])].filter((h) => this.documents.knows(docId, [h]))
    const beyond = this.documents.missingFor(docId, base).map((r) => r.hash)
    const heads = [...new Set([...this.documents.heads(docId), ...base])]
    return { i: packId(docId), h: toBin(heads), have: haveOf(beyond) }
  }

  private async sendRequests(io: FrameStream, requests: WireHeadsRequest[], signal: AbortSignal): Promise<void> {
    let batch: WireHeadsRequest[] = []
    let size = 0
    for (const r of requests) {
      const cost = 40 + r.h.length * 34 + (r.have?.d.byteLength ?? 0)
      if (batch.length > 0 && (size + cost > FRAME_BYTES || batch.length >= MAX_SUMMARY_DOCS)) {
        await io.send({ t: 'heads', docs: batch }, signal)
        batch = []
        size = 0
      }
      batch.push(r)
      size += cost
    }
    if (batch.length > 0) await io.send({ t: 'heads', docs: batch }, signal)
  }

  /** What the other side asked for: the changes outside the past of its heads and its have-set. */
  private async answer(io: FrameStream, ws: string, r: WireHeadsRequest, signal: AbortSignal): Promise<void> {
    await this.sendMissing(io, ws, unpackId(r.i), toHex(r.h), r.have ? new HaveSet(r.have) : undefined, signal)
  }

  private has(ws: string, docId: string): boolean {
    return this.store.documentWorkspace(docId) === ws
  }

  private async sendMissing(
    io: FrameStream,
    ws: string,
    docId: string,
    theirHeads: string[],
    theyHave: HaveSet | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    if (!this.has(ws, docId)) return
    // Runs first, then the commit of what waits: teammates' changes applied here and not committed yet (they
    // may wait 250 ms) are sent too, and runs just sealed take their changes' place (never sent unsigned).
    this.documents.sealRuns(docId)
    await this.documents.commitWaiting()
    const rows = this.documents.missingFor(docId, theirHeads, theyHave)
    const doc = packId(docId)
    let items: SignedChange[] = []
    let size = 0
    /** Covers sent in this answer: one is sent once, for the first of its rows (covers.ts). */
    const covers = new Set<number>()
    for (const r of rows) {
      // Sealed just above; one that could not be (runs.ts `sealAlone`) is never sent unsigned.
      if (isUnsigned(r)) continue
      if (r.cover !== null && covers.has(r.cover)) continue
      // Served as signed: sealed, or an older version's clear change with or without its membership heads; a
      // row a cover carries, as that cover.
      const item = r.cover === null ? envelopeOf({ ...r, deps: r.deps ?? [] }) : this.documents.coverEnvelope(r.cover)
      if (r.cover !== null) covers.add(r.cover)
      // About 200 bytes of envelope, and 34 per membership head (usually one; at most 64).
      const cost = item.c.byteLength + (item.k?.byteLength ?? 0) + (item.kd?.byteLength ?? 0) + 200 + (item.m?.length ?? 0) * 34
      if (items.length >= FRAME_ITEMS || size + cost > FRAME_BYTES) {
        await io.send({ t: 'changes', doc, items }, signal)
        items = []
        size = 0
      }
      items.push(item)
      size += cost
    }
    if (items.length) await io.send({ t: 'changes', doc, items }, signal)
    this.stats.changesSent += changesIn(rows)
  }

  /**
   * Reads one turn of the other side, until `end`: ops (ingested at once, with the keys they bring,
   * before any change), changes (validated, held or applied), requests. Returns once its changes
   * are applied. `members` (answering): checked again after its ops, which may say it left.
   */
  private async receiveTurn(
    io: FrameStream,
    ws: string,
    remote: string,
    answering: boolean,
    signal: AbortSignal,
    first?: CatchupFrame,
    members?: () => boolean,
  ): Promise<Turn> {
    const applied: Promise<void>[] = []
    const turn: Turn = { requests: [], ops: false, docs: new Set() }
    let haveBytes = 0
    for (let f = first ?? (await io.read(signal)); f.t !== 'end'; f = await io.read(signal)) {
      if (f.t === 'ops') {
        turn.ops = true
        await this.takeOps(ws, f.ops, null)
        // A member's ops may say it left or was removed (that is how a leave reaches us): then it gets nothing.
        if (answering && members && !members()) throw new Refusal(`no longer a member of ${ws}`)
        continue
      }
      if (f.t === 'heads') {
        for (const r of f.docs) {
          haveBytes += r.have?.d.byteLength ?? 0
          turn.docs.add(unpackId(r.i))
        }
        turn.requests.push(...f.docs)
        if (turn.requests.length > MAX_SUMMARY_DOCS) throw new ProtocolError(`requests for more than ${MAX_SUMMARY_DOCS} documents`)
        if (haveBytes > MAX_HAVE_BYTES_PER_TURN) throw new ProtocolError(`have-sets of more than ${MAX_HAVE_BYTES_PER_TURN} bytes`)
        continue
      }
      if (f.t !== 'changes') throw new ProtocolError(`unexpected ${f.t} frame`)
      const docId = unpackId(f.doc)
      turn.docs.add(docId)
      const valid: ValidChange[] = []
      const judge = this.workspaces.judge(ws)
      const keyOf = this.keys.lookup(ws)
      let aside = 0
      let example = ''
      for (const item of f.items) {
        const v = validateChange(ws, docId, item, judge, keyOf)
        if (!isRejection(v)) {
          valid.push(v)
          continue
        }
        // Authentic, but not allowed (yet): kept aside until its ops arrive or a member's change builds on it.
        const kept = this.held.hold(ws, docId, v)
        if (v.reason === 'unknown-membership' || v.reason === 'no-key') continue
        this.stats.rejected++
        if (!v.held) this.log('warn', `catch-up from ${remote}: change rejected (${v.reason}): ${v.detail}`)
        else if (kept) {
          // Logged once: the other side offers it again each round while it stays aside.
          aside++
          example ||= `${v.reason}: ${v.detail}`
        }
      }
      // One line per frame: a late joiner gets a removed member's whole history this way before its endorsement.
      if (aside) this.log('info', `catch-up from ${remote}: ${aside} changes to ${docId} kept aside until endorsed (${example})`)
      this.stats.changesReceived += changesIn(valid)
      if (valid.length) applied.push(this.documents.ingest(ws, docId, valid))
    }
    await Promise.all(applied)
    return turn
  }

  /** A session ended well: the peer holds the current key if it may, and what it holds of these documents is known. */
  private finish(ws: string, remote: string, docIds: string[]): void {
    this.lastSynced.set(`${remote}/${ws}`, Date.now())
    this.keys.synced(ws, remote)
    this.recordSynced(remote, docIds)
  }

  /**
   * Equal workspaces: the other side holds this side's heads of every document. The documents whose
   * record of it says otherwise (a heads announcement lost, say) are recorded again, or their sync
   * status would stay stale.
   */
  private recordedStale(ws: string, remote: string): string[] {
    const known = this.store.peerHeadsOf(remote)
    return this.store
      .listDocuments(ws)
      .filter((d) => headsKey(known.get(d.id) ?? []) !== headsKey(this.documents.heads(d.id)))
      .map((d) => d.id)
  }

  /** Told which documents a teammate's known heads changed for (sync status is then stale). */
  onPeerHeads: (docIds: string[]) => void = () => {}

  /**
   * The other side holds this side's heads of `docIds` now. What the record said it holds beyond them is
   * kept: a heads announcement of a change this side has not taken yet can come while a session runs that
   * found the document equal at its start, and written over, the record would say for good that the peer
   * lacks that change once this side has it too (its heads do not change again, so it announces nothing):
   * the convergence simulation's sync status stayed stale so (seed 1990558625, about one replay in six).
   */
  private recordSynced(remote: string, docIds: string[]): void {
    const at = Date.now()
    void this.store
      .write(() => {
        this.store.notePeerSynced(remote, at)
        const recorded = this.store.peerHeadsOf(remote)
        for (const docId of docIds) {
          if (!this.store.getDocument(docId)) continue
          const ours = this.documents.heads(docId)
          const beyond = (recorded.get(docId) ?? []).filter((h) => !ours.includes(h) && !this.documents.holds(docId, h))
          this.store.setPeerDocHeads(remote, docId, [...ours, ...beyond], at)
        }
      })
      .then(
        () => this.onPeerHeads(docIds),
        () => {},
      )
  }
}

/** About the encoded size of one wire range (for cutting messages into frames). */
function rangeBytes(r: WireRange<Heads>): number {
  const bound = 4 + (r[0]?.length ?? 0)
  const idBytes = (id: string | Uint8Array): number => 3 + (typeof id === 'string' ? id.length : id.byteLength)
  const listed = (xs: [string | Uint8Array, Heads][]): number => xs.reduce((n, [id, h]) => n + 4 + idBytes(id) + h.length * 34, 0)
  switch (r[1]) {
    case 0:
      return bound
    case 1:
      return bound + 18
    case 2:
      return bound + listed(r[2])
    case 3:
      return bound + listed(r[2]) + r[3].reduce((n, id) => n + idBytes(id), 0)
  }
}
