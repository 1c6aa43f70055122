/**
 * Runs: several of this device's changes to one document, sealed together as one Automerge bundle
 * and signed once (change-validation.ts `sealRun`). A keystroke is one change, and one signature,
 * sealed box and log row of its own; a run of ten thousand keystrokes is one of each, and its bundle
 * is Automerge's compressed columns (a few hundred bytes for a paragraph typed in one go).
 *
 * Which changes form runs: those made while this device had no connection at all. Nobody can hold
 * them, so nobody can have built on one of them, and a run is a unit everywhere: stored, forwarded
 * and judged whole, never split, and named by its last change. (A change that left on its own stays
 * a change of its own for good: a teammate may have built on it.) A run is a chain, each change
 * building on the one before and nothing else, under one epoch and one membership state, so that
 * its first change's deps and its last change's hash say where it sits in the history.
 *
 * They are sealed (`Runs.seal`) once typing pauses (`SEAL_IDLE_MS`) or a document has
 * `SEAL_EVERY` of them, so that a returning teammate does not wait for it; and whatever is left when
 * the first connection opens, before any catch-up serves the document, before the next change of
 * the document is published, and when the peer stops. Until then they are stored as changes of
 * their own, as any edit is, and a run takes their place in the log in one commit. After a crash
 * they stay changes of their own.
 */

import * as A from '@automerge/automerge'
import { MAX_CHANGE_BYTES, MAX_RUN_CHANGES } from '../../../shared/limits.ts'
import { SEAL_OVERHEAD } from '../crypto/seal.ts'
import type { Device } from '../identity/device.ts'
import type { Log } from '../log.ts'
import type { ChangeLog, Durable } from '../store/types.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import { sealRun, type ValidChange } from './change-validation.ts'
import type { DocCache } from './doc-cache.ts'
import type { GDoc } from './doc-content.ts'

/** Unsent changes are sealed this long after the last one was made... */
const SEAL_IDLE_MS = 300
/** ...or as soon as a document has this many. */
const SEAL_EVERY = 1024

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

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export interface RunsComponents {
  store: Durable & ChangeLog
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
  /** Runs sealed here, and the changes they hold. */
  readonly stats = { sealed: 0, changes: 0 }
  private readonly components: RunsComponents
  private readonly unsent = new Unsent()
  private timer: NodeJS.Timeout | null = null

  constructor(components: RunsComponents) {
    this.components = components
  }

  /** Keeps new own changes if nothing could reach anyone now (true); false: publish them. */
  keep(ws: string, docId: string, changes: ValidChange[]): boolean {
    const { online, sealIdleMs } = this.components
    if (!online || online()) return false
    const unsent = changes.map((c) => ({ hash: c.hash, deps: c.deps, epoch: c.epoch!, m: c.m!, actor: c.actor, time: c.time }))
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
   * is about to be). A change that forms no run stays as it is.
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
        try {
          items.push(...this.sealChain(entry.ws, id, doc, chain))
        } catch (err) {
          // The changes stay in the log one by one, and leave so: nothing is lost, only compactness.
          log('warn', `sealing a run of ${chain.length} changes of ${id}: ${(err as Error).message}`)
        }
      }
      if (items.length && publish) this.components.publish(entry.ws, id, items)
    }
  }

  /** Seals what is left (the peer is stopping). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.seal()
  }

  /** One run: bundled from the document, sealed, signed, and put in the log in place of its changes. */
  private sealChain(ws: string, docId: string, doc: GDoc, chain: UnsentChange[]): SignedChange[] {
    const { store, device, keys, log } = this.components
    if (chain.length < 2) return []
    const first = chain[0]!
    const last = chain.at(-1)!
    const key = keys.key(ws, first.epoch)
    if (!key) return []
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
    const { hash, author, signature, bytes, m, epoch, deps, n } = change
    void store
      .writeNow(() => store.replaceWithRun(docId, hashes, { hash, author, signature, bytes, m, epoch, deps, n }, Date.now()))
      .catch((err: Error) => log('warn', `storing a run of ${hashes.length} changes of ${docId}: ${err.message}`))
    return [item]
  }
}
