/**
 * Runs: several of this device's changes to one document, sealed together as one Automerge bundle
 * and signed once (change-validation.ts `sealRun`). A keystroke is one change, and one signature,
 * sealed box and log row of its own; a run of ten thousand keystrokes is one of each, and its bundle
 * is Automerge's compressed columns (a few hundred bytes for a paragraph typed in one go).
 *
 * Which changes form runs: those made while this device had no connection at all. Nobody can hold
 * them, so nobody can have built on one of them, and a run is a unit everywhere: stored, forwarded
 * and judged whole, never split, and named by its last change. (A change that left on its own stays
 * a change of its own for good: a teammate may have built on it.) This device itself may have: two of
 * its sessions (a window's edits and the peer's own) can build on one change, and when the two lines
 * are sealed at different times, the later run's deps name a change inside the earlier run, which
 * every peer that takes the later one holds (its deps). A run is a chain, each change
 * building on the one before and nothing else, under one epoch and one membership state, so that
 * its first change's deps and its last change's hash say where it sits in the history.
 *
 * They are sealed (`Runs.seal`) once typing pauses (`SEAL_IDLE_MS`) or a document has
 * `SEAL_EVERY` of them, so that a returning teammate does not wait for it; and whatever is left when
 * the first connection opens, before any catch-up serves the document, before the next change of
 * the document is published, and when the peer stops. Until then a client's changes are stored
 * unsigned (`Runs.hold`, change-validation.ts `unsignedChange`: in clear, an empty signature, the
 * epoch and membership heads they will be sealed under), so that each is sealed and signed once, in its
 * run, not once alone and again in the run; the peer's own edits (a new document's first text, a title)
 * are stored sealed and signed, as any edit is. A run takes their place in the log in one commit; an
 * unsigned change that forms no run is sealed and signed alone and takes its own place. Nothing unsigned
 * is ever sent (catch-up.ts `sendMissing` skips it). A marker in the profile (`UNSIGNED_MARK`), committed
 * with the first unsigned change and cleared with the commit that seals the last, says whether the log
 * may hold any: after a crash, or a stop whose sealing failed, the next start finds them and seals them
 * (`Runs.recover`) before its network starts; otherwise it does not read the log for them.
 *
 * Live runs: a client's request that carries several changes made one after another (keys typed within
 * one frame: a burst, a fast typist) leaves at once with each chain of them as a run (`sealForSending`).
 * None of them ever left alone, so the same holds: nobody can have built on one inside the run. A
 * bundle is made from a document that holds its changes, so the peer applies the request at once
 * instead of deferring it (doc-cache.ts `Loaded.defer`); that costs what Automerge takes to apply to the
 * text, which grows with its length, so a document whose apply costs more than `LIVE_RUN_APPLY_MS` per call sends its
 * changes one by one again, and is timed anew after `LIVE_RUN_RETRY_MS`.
 */

import * as A from '@automerge/automerge'
import { MAX_CHANGE_BYTES, MAX_RUN_CHANGES } from '../../../shared/limits.ts'
import { SEAL_OVERHEAD } from '../crypto/seal.ts'
import type { Device } from '../identity/device.ts'
import type { Log } from '../log.ts'
import type { ChangeLog, Durable, ListingStore, MetaStore } from '../store/types.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import type { EpochKey } from '../crypto/epoch.ts'
import { readChange, type ChangeRead } from './change-read.ts'
import { isUnsigned, sealChange, sealRun, unsignedChange, type ValidChange } from './change-validation.ts'
import type { DocCache, Loaded } from './doc-cache.ts'
import type { GDoc } from './doc-content.ts'

/**
 * Meta key: '1' while the log may hold unsigned changes, set in (or before) the commit that stores the first
 * of them, cleared in the commit that seals the last one held (see the top of this file).
 */
const UNSIGNED_MARK = 'unsigned_changes'

/** Unsent changes are sealed this long after the last one was made... */
const SEAL_IDLE_MS = 300
/** ...or as soon as a document has this many. */
const SEAL_EVERY = 1024

/**
 * A client's chained changes leave as runs while applying them at once costs at most this much CPU per
 * call (ms, averaged over the last applies) beyond the next per change: what Automerge costs per change
 * is paid now or later anyway (about 0.2 ms per keystroke here), what it costs per call grows with the
 * length of the text...
 */
const LIVE_RUN_APPLY_MS = 5
const LIVE_RUN_APPLY_PER_CHANGE_MS = 0.5
/** ...and after a costlier apply, they leave one by one for this long, then the apply is timed again. */
const LIVE_RUN_RETRY_MS = 10_000

/** How many changes rows or envelopes hold: a run counts the changes in it. */
export function changesIn(items: readonly { n: number }[]): number {
  return items.reduce((sum, c) => sum + c.n, 0)
}

/** What a run needs of an unsent change: where it sits, and what its signature would be judged by. */
export interface UnsentChange {
  hash: string
  deps: string[]
  epoch: string
  /** The membership heads it was signed under. */
  m: string[]
  /** Its Automerge actor and time (s): a run's are its last change's. */
  actor: string
  time: number
  /** The change, while it is stored unsigned (`Runs.hold`): sealed and signed alone if it forms no run. */
  plain?: Uint8Array
}

/** A run or a change sealed and signed to take the place of `hashes` in the log. */
interface Sealed {
  item: SignedChange
  change: ValidChange
  hashes: string[]
  /** How many of them were stored unsigned. */
  unsigned: number
}

/** This device's changes not sent to anyone yet, by document, in the order they were made. */
class Unsent {
  private readonly byDoc = new Map<string, { ws: string; changes: UnsentChange[] }>()

  /** Adds changes; returns how many the document has unsent now. */
  add(ws: string, docId: string, changes: UnsentChange[]): number {
    const entry = this.byDoc.get(docId) ?? { ws, changes: [] }
    entry.changes.push(...changes)
    if (entry.changes.length) this.byDoc.set(docId, entry)
    return entry.changes.length
  }

  has(docId: string): boolean {
    return this.byDoc.has(docId)
  }

  hashes(docId: string): Set<string> {
    return new Set(this.byDoc.get(docId)?.changes.map((c) => c.hash))
  }

  docs(): string[] {
    return [...this.byDoc.keys()]
  }

  /** Takes the document's unsent changes: they are about to be sealed, or sent as they are. */
  take(docId: string): { ws: string; changes: UnsentChange[] } | undefined {
    const entry = this.byDoc.get(docId)
    this.byDoc.delete(docId)
    return entry
  }
}

/**
 * Cuts unsent changes into runs: maximal chains (each change's only dep is the change before it),
 * each under one epoch and one membership state, none of whose changes but the last is named by a
 * change outside the chain, at most `maxChanges` long. A chain of one stays the change it is.
 */
export function chainsOf(changes: UnsentChange[], maxChanges: number): UnsentChange[][] {
  // How many changes name each hash: a change named by another besides its successor must end a chain.
  const named = new Map<string, number>()
  for (const c of changes) for (const d of c.deps) named.set(d, (named.get(d) ?? 0) + 1)
  const chains: UnsentChange[][] = []
  let chain: UnsentChange[] = []
  const close = (): void => {
    if (chain.length) chains.push(chain)
    chain = []
  }
  for (const c of changes) {
    const prev = chain.at(-1)
    const continues =
      prev !== undefined &&
      c.deps.length === 1 &&
      c.deps[0] === prev.hash &&
      (named.get(prev.hash) ?? 0) === 1 &&
      c.epoch === prev.epoch &&
      sameList(c.m, prev.m) &&
      chain.length < maxChanges
    if (!continues) close()
    chain.push(c)
  }
  close()
  return chains
}

/** A client's change as the peer checked it (documents.ts `applyClientChanges`). */
export interface OwnChange {
  plain: Uint8Array
  read: ChangeRead
}

/**
 * Whether a client's new changes may leave as runs now, and if so applies them to the document at once
 * (a bundle is made from a document that holds its changes): two or more, at least two of them one
 * after the other, and the document's last such apply cheap (see the top of this file). False: they
 * leave one by one and are applied as any change is. Throws, leaving the document as it was, if
 * Automerge refuses them.
 */
export function applyForRuns(l: Loaded, changes: readonly OwnChange[], now: () => number): boolean {
  const chained = changes.some((c, i) => i > 0 && c.read.deps.length === 1 && c.read.deps[0] === changes[i - 1]!.read.hash)
  if (!chained) return false
  const started = now()
  if (started < l.liveRuns.pausedUntil) return false
  // Applied to a copy: an Automerge call that throws can leave its document unusable (a change naming an
  // object nobody made panics inside the apply), and the document is taken only if all of them apply.
  const current = l.doc
  ;[l.doc] = A.applyChanges(
    A.clone(current, { actor: A.getActorId(current) }),
    changes.map((c) => c.plain),
  )
  // Averaged with the last, so that one slow apply (the first in a process, a busy machine) pauses nothing.
  const perCall = Math.max(0, now() - started - LIVE_RUN_APPLY_PER_CHANGE_MS * changes.length)
  l.liveRuns.cost = (l.liveRuns.cost + perCall) / 2
  if (l.liveRuns.cost > LIVE_RUN_APPLY_MS) l.liveRuns = { cost: 0, pausedUntil: started + LIVE_RUN_RETRY_MS }
  return true
}

/**
 * Seals and signs a client's new changes to send, in the order given: with `doc` (which holds them all:
 * `applyForRuns`), each chain of two or more (`chainsOf`) as one run; the rest, every one without
 * `doc`, and a chain whose run would be over the wire's cap, one by one. A run made here keeps its
 * changes' effects (for history) and the changes themselves (`parts`: clients take changes, not bundles).
 */
function sealForSending(
  device: Device,
  key: EpochKey,
  at: { ws: string; docId: string; m: readonly string[] },
  changes: readonly OwnChange[],
  doc: GDoc | null,
): { items: SignedChange[]; valid: ValidChange[] } {
  const items: SignedChange[] = []
  const valid: ValidChange[] = []
  const one = (c: OwnChange): void => {
    const { item, change } = sealChange(device, key, at.ws, at.docId, c.plain, at.m, c.read)
    items.push(item)
    valid.push(change)
  }
  if (!doc) {
    for (const c of changes) one(c)
    return { items, valid }
  }
  const byHash = new Map(changes.map((c) => [c.read.hash, c]))
  const unsent = changes.map(({ read: d }) => ({
    hash: d.hash,
    deps: d.deps,
    epoch: key.epochId,
    m: [...at.m],
    actor: d.actor,
    time: d.time,
  }))
  for (const chain of chainsOf(unsent, MAX_RUN_CHANGES)) {
    const own = chain.map((u) => byHash.get(u.hash)!)
    const run = own.length > 1 ? liveRun(device, key, at, own, doc) : null
    if (!run) {
      for (const c of own) one(c)
      continue
    }
    items.push(run.item)
    valid.push(run.change)
  }
  return { items, valid }
}

/** One run of a client's chained changes, from a document that holds them; null when it would be over the wire's cap. */
function liveRun(
  device: Device,
  key: EpochKey,
  at: { ws: string; docId: string; m: readonly string[] },
  own: readonly OwnChange[],
  doc: GDoc,
): { item: SignedChange; change: ValidChange } | null {
  const hashes = own.map((c) => c.read.hash)
  const bundle = A.saveBundle(doc, hashes)
  if (bundle.byteLength + SEAL_OVERHEAD > MAX_CHANGE_BYTES) return null
  const last = own.at(-1)!.read
  const { item, change } = sealRun(
    device,
    key,
    at.ws,
    at.docId,
    { bundle, hashes, deps: own[0]!.read.deps, actor: last.actor, time: last.time, empty: own.every((c) => c.read.empty) },
    at.m,
  )
  change.effects = own.flatMap(({ read: r }) => (r.effect ? [[r.hash, r.effect] as const] : []))
  change.parts = own.map((c) => c.plain)
  return { item, change }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export interface RunsComponents {
  store: Durable & ChangeLog & MetaStore & Pick<ListingStore, 'documentWorkspace'>
  device: Device
  keys: EpochKeys
  cache: DocCache
  /** Whether anything published now could reach anyone; absent: always (no runs form). */
  online?: () => boolean
  /** How long after the last unsent change they are sealed (default `SEAL_IDLE_MS`). */
  sealIdleMs?: number
  /** Publishes sealed runs (as this device's new changes). */
  publish: (ws: string, docId: string, items: SignedChange[]) => void
  log: Log
}

/** This device's unsent changes and the runs they leave as (see the top of this file). */
export class Runs {
  /**
   * Runs sealed here of changes made with no connection, and the changes they hold; unsigned changes sealed
   * alone (they formed no run); runs sealed at once of a client's keys (`sealLive`).
   */
  readonly stats = { sealed: 0, changes: 0, alone: 0, live: 0 }
  private readonly components: RunsComponents
  private readonly unsent = new Unsent()
  /** Unsigned changes held (stored, or about to be) that no committed sealing has replaced yet. */
  private outstanding = 0
  /** Whether `UNSIGNED_MARK` is '1' in the profile, or about to be (its write is queued). */
  private marked = false
  private timer: NodeJS.Timeout | null = null

  constructor(components: RunsComponents) {
    this.components = components
  }

  /** A client's new changes sealed to send (`sealForSending`), counting the runs among them. */
  sealLive(
    key: EpochKey,
    at: { ws: string; docId: string; m: readonly string[] },
    changes: readonly OwnChange[],
    doc: GDoc | null,
  ): { items: SignedChange[]; valid: ValidChange[] } {
    const sealed = sealForSending(this.components.device, key, at, changes, doc)
    this.stats.live += sealed.valid.filter((c) => c.n > 1).length
    return sealed
  }

  /**
   * A client's new changes, if nothing published now could reach anyone: kept (`keep`) unsigned
   * (change-validation.ts `unsignedChange`), to be sealed and signed once, in runs. Null if anyone could
   * hear: seal them to send (`sealLive`).
   */
  hold(key: EpochKey, at: { ws: string; docId: string; m: readonly string[] }, changes: readonly OwnChange[]): ValidChange[] | null {
    if (!this.offline()) return null
    const { store, device, log } = this.components
    const held = changes.map((c) => unsignedChange(device, key, c.plain, at.m, c.read))
    if (!this.marked) {
      this.marked = true
      // Queued now: it commits with the changes (their write comes after it), or before them.
      void store
        .write(() => store.setMeta(UNSIGNED_MARK, '1'))
        .catch((err: Error) => log('warn', `marking ${UNSIGNED_MARK}: ${err.message}`))
    }
    this.outstanding += held.length
    this.keep(at.ws, at.docId, held)
    return held
  }

  /**
   * The document's changes kept to leave in runs (`keep`), not sealed yet: nobody has them, and they may be
   * sealed into a run whenever a connection opens, so they must not go under a cover (own-covers.ts), which
   * would make them leave alone first.
   */
  kept(docId: string): ReadonlySet<string> {
    return this.unsent.hashes(docId)
  }

  /** Nothing published now could reach anyone: new own changes are kept (`keep`) to leave as runs later. */
  offline(): boolean {
    const { online } = this.components
    return online !== undefined && !online()
  }

  /** Keeps new own changes if nothing could reach anyone now (true); false: publish them. */
  keep(ws: string, docId: string, changes: ValidChange[]): boolean {
    if (!this.offline()) return false
    const { sealIdleMs } = this.components
    const unsent = changes.map((c) => ({
      hash: c.hash,
      deps: c.deps,
      epoch: c.epoch!,
      m: c.m!,
      actor: c.actor,
      time: c.time,
      ...(isUnsigned(c) ? { plain: c.bytes } : {}),
    }))
    if (this.unsent.add(ws, docId, unsent) >= SEAL_EVERY) this.seal(docId)
    // Sealed when typing pauses, not when a teammate appears: it would wait for it.
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      this.seal()
    }, sealIdleMs ?? SEAL_IDLE_MS)
    this.timer.unref()
    return true
  }

  /**
   * Seals the unsent changes of a document (or of every document) into runs and puts each in place of
   * its changes in the log at once (a commit started now, so that what is read next sees it). Catch-up
   * carries them to whoever connects; `publish`: they are published too (a change that builds on them
   * is about to be). A signed change that forms no run stays as it is; an unsigned one is sealed and
   * signed alone.
   */
  seal(docId?: string, publish = false): void {
    const { cache, log } = this.components
    for (const id of docId === undefined ? this.unsent.docs() : [docId]) {
      const entry = this.unsent.take(id)
      if (!entry) continue
      let doc: GDoc
      try {
        doc = cache.load(id).doc
      } catch (err) {
        log('warn', `sealing runs of ${id}: ${(err as Error).message}`)
        continue
      }
      // Changes published but not applied yet (applyClientChanges publishes first) wait for the next time.
      let ready = entry.changes.length
      while (ready > 0 && !A.hasHeads(doc, [entry.changes[ready - 1]!.hash])) ready--
      this.unsent.add(entry.ws, id, entry.changes.slice(ready))
      const items: SignedChange[] = []
      for (const chain of chainsOf(entry.changes.slice(0, ready), MAX_RUN_CHANGES)) {
        let sealed: Sealed[]
        try {
          sealed = this.sealChain(entry.ws, id, doc, chain)
        } catch (err) {
          // Signed changes stay in the log one by one, and leave so: nothing is lost, only compactness.
          // Unsigned ones cannot stay so: each is sealed alone.
          log('warn', `sealing a run of ${chain.length} changes of ${id}: ${(err as Error).message}`)
          sealed = chain.flatMap((c) => this.sealAlone(entry.ws, id, c))
        }
        for (const one of sealed) this.put(id, one)
        items.push(...sealed.map((one) => one.item))
      }
      if (items.length && publish) this.components.publish(entry.ws, id, items)
    }
  }

  /**
   * Seals the unsigned changes a stop left in the log (a crash, or a sealing that failed: `UNSIGNED_MARK`
   * is still set): each document's, in log order, into runs, at once. Without the mark there are none,
   * and the log is not read. Returns how many there were.
   */
  recover(): number {
    const { store, log } = this.components
    if (store.getMeta(UNSIGNED_MARK)?.toString() !== '1') return 0
    this.marked = true
    const rows = store.unsignedChanges()
    for (const r of rows) {
      const ws = store.documentWorkspace(r.docId)
      if (ws === undefined || r.epoch === null) continue
      let read: ChangeRead
      try {
        read = readChange(r.bytes)
      } catch (err) {
        log('warn', `an unsigned change ${r.hash} of ${r.docId} does not read: ${(err as Error).message}`)
        continue
      }
      this.unsent.add(ws, r.docId, [
        { hash: r.hash, deps: read.deps, epoch: r.epoch, m: r.m ?? [], actor: read.actor, time: read.time, plain: r.bytes },
      ])
      this.outstanding++
    }
    // None to seal (a mark from a sealing that failed, whose changes a later one took): cleared now.
    if (this.outstanding === 0)
      void store.writeNow(() => this.unmark()).catch((err: Error) => log('warn', `clearing ${UNSIGNED_MARK}: ${err.message}`))
    this.seal()
    return rows.length
  }

  /** Inside a write: clears `UNSIGNED_MARK` if no unsigned change is held any more. */
  private unmark(): void {
    if (this.outstanding > 0 || !this.marked) return
    this.components.store.setMeta(UNSIGNED_MARK, '0')
    this.marked = false
  }

  /** Seals what is left (the peer is stopping). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.seal()
  }

  /** One run, bundled from the document, sealed and signed (two if it would be over the wire's cap); a chain of one sealed alone if it is unsigned. */
  private sealChain(ws: string, docId: string, doc: GDoc, chain: UnsentChange[]): Sealed[] {
    const { device, keys } = this.components
    if (chain.length < 2) return chain.flatMap((c) => this.sealAlone(ws, docId, c))
    const first = chain[0]!
    const last = chain.at(-1)!
    const key = keys.key(ws, first.epoch)
    if (!key) throw new Error(`no key here for epoch ${first.epoch}`)
    const hashes = chain.map((c) => c.hash)
    const bundle = A.saveBundle(doc, hashes)
    if (bundle.byteLength + SEAL_OVERHEAD > MAX_CHANGE_BYTES) {
      // Too large for one run (large pastes): two runs, each half of the chain (a chain of one stays a change).
      const half = Math.ceil(chain.length / 2)
      return [...this.sealChain(ws, docId, doc, chain.slice(0, half)), ...this.sealChain(ws, docId, doc, chain.slice(half))]
    }
    const { item, change } = sealRun(
      device,
      key,
      ws,
      docId,
      { bundle, hashes, deps: first.deps, time: last.time, actor: last.actor, empty: false },
      first.m,
    )
    this.stats.sealed++
    this.stats.changes += hashes.length
    return [{ item, change, hashes, unsigned: chain.filter((c) => c.plain).length }]
  }

  /** An unsigned change sealed and signed alone (none if it is signed already, or cannot be: it stays unsigned, and unsent). */
  private sealAlone(ws: string, docId: string, c: UnsentChange): Sealed[] {
    if (!c.plain) return []
    const { device, keys, log } = this.components
    const key = keys.key(ws, c.epoch)
    try {
      if (!key) throw new Error(`no key here for epoch ${c.epoch}`)
      const { item, change } = sealChange(device, key, ws, docId, c.plain, c.m)
      this.stats.alone++
      return [{ item, change, hashes: [c.hash], unsigned: 1 }]
    } catch (err) {
      log('warn', `sealing change ${c.hash} of ${docId}: ${(err as Error).message}; it stays unsigned until the next start`)
      return []
    }
  }

  /**
   * Puts a sealed run or change in the log in place of the changes it holds, in one commit started now,
   * and clears `UNSIGNED_MARK` in it if it seals the last unsigned change held. If it fails, the mark
   * stays: the next start seals them.
   */
  private put(docId: string, { change, hashes, unsigned }: Sealed): void {
    const { store, log } = this.components
    const { hash, author, signature, bytes, m, epoch, deps, n } = change
    void store
      .writeNow(() => {
        const row = store.replaceWithRun(docId, hashes, { hash, author, signature, bytes, m, epoch, deps, n }, Date.now())
        this.outstanding -= unsigned
        this.unmark()
        return row
      })
      .catch((err: Error) => log('warn', `storing a run of ${hashes.length} changes of ${docId}: ${err.message}`))
  }
}
