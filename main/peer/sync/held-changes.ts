/**
 * Changes kept aside instead of applied, never silently dropped (change-validation.ts has the rules):
 * - waiting: their membership heads (`m`) name ops not here yet; judged again whenever ops arrive;
 * - sealed under an epoch whose key is not here yet: opened (and judged) when keys arrive;
 * - not allowed (the author could not write at `m`, or lost the right by a revocation `m` does not
 *   include): applied once a change that is here names them as deps (someone built on them: an
 *   endorsement), or once the ops resolve so that they are allowed at their `m` after all.
 * One set per `Documents`, shared by gossip and catch-up. Bounded: past the bounds the oldest fall
 * out, which the log says; catch-up offers them again, since this peer's heads do not include them.
 */
import type { Log } from '../log.ts'
import type { ChangeLog } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import { isRejection, openChange, type Rejection, type ValidChange } from './change-validation.ts'
import type { Documents } from './documents.ts'

const MAX_HELD = 20_000
const MAX_HELD_BYTES = 32 * 1024 * 1024
const DROP_LOG_EVERY_MS = 60_000

interface Held {
  ws: string
  doc: string
  change: ValidChange
  deps: string[]
}

const keyOf = (doc: string, hash: string): string => `${doc}/${hash}`

/** What held changes are judged with (libp2p-style components; gossip's and catch-up's carry them all). */
export interface HeldChangesComponents {
  workspaces: Workspaces
  keys: EpochKeys
  documents: Documents
  store: ChangeLog
  log: Log
}

export class HeldChanges {
  /** In insertion order, so the oldest fall out first. */
  private readonly held = new Map<string, Held>()
  private readonly byDoc = new Map<string, Set<string>>()
  private bytes = 0
  private dropped = 0
  private droppedLoggedAt = 0
  private readonly workspaces: Workspaces
  private readonly keys: EpochKeys
  private readonly documents: Documents
  private readonly store: ChangeLog
  private readonly log: Log

  constructor(components: HeldChangesComponents) {
    const { workspaces, keys, documents, store, log } = components
    this.workspaces = workspaces
    this.keys = keys
    this.documents = documents
    this.store = store
    this.log = log
    workspaces.on('members', (ws) => this.rejudge(ws))
    keys.on('keys', (ws) => this.unseal(ws))
    // After every apply: a change that just arrived may name held ones as deps.
    documents.on('heads', (_ws, docId) => this.endorsed(docId))
  }

  get size(): number {
    return this.held.size
  }

  /** Keeps an authentic change that could not be applied yet (`rejection.held` set); false if it was not kept. */
  hold(ws: string, doc: string, rejection: Rejection): boolean {
    const h = rejection.held
    if (!h) return false
    const key = keyOf(doc, h.change.hash)
    if (this.held.has(key) || this.store.hasChange(doc, h.change.hash)) return false
    this.held.set(key, { ws, doc, change: h.change, deps: h.deps })
    const keys = this.byDoc.get(doc) ?? new Set<string>()
    this.byDoc.set(doc, keys.add(key))
    this.bytes += h.change.bytes.byteLength
    while (this.held.size > MAX_HELD || this.bytes > MAX_HELD_BYTES) {
      const [oldest] = this.held.keys()
      this.remove(oldest!)
      this.dropped++
    }
    if (this.dropped && Date.now() - this.droppedLoggedAt > DROP_LOG_EVERY_MS) {
      this.log(
        'warn',
        `${this.dropped} changes kept aside fell out (over ${MAX_HELD} or ${MAX_HELD_BYTES >> 20} MiB); catch-up offers them again`,
      )
      this.dropped = 0
      this.droppedLoggedAt = Date.now()
    }
    return true
  }

  private remove(key: string): Held | undefined {
    const h = this.held.get(key)
    if (!h) return undefined
    this.held.delete(key)
    this.bytes -= h.change.bytes.byteLength
    const keys = this.byDoc.get(h.doc)
    keys?.delete(key)
    if (keys?.size === 0) this.byDoc.delete(h.doc)
    return h
  }

  /**
   * The membership of `ws` changed: what is now allowed at its `m` is applied (its ops arrived, or a
   * revocation it did not know of turned out void). Not an older version's change (no `m`): it is
   * judged by its author's role when it arrives, and a role given back later does not make what was
   * refused meanwhile valid; an endorsement still does.
   */
  private rejudge(ws: string): void {
    if (this.held.size === 0) return
    const judge = this.workspaces.judge(ws)
    const ready = [...this.held.entries()].filter(
      ([, h]) => h.ws === ws && this.readable(h) && h.change.m !== null && judge(h.change.author, h.change.m).ok,
    )
    this.release(ready.map(([key]) => key))
  }

  /** Opened, or never to be opened here (a keeper): it may be applied once allowed. */
  private readable(h: Held): boolean {
    return h.change.plain !== null || this.keys.lookup(h.ws) === null
  }

  /** New keys of `ws`: held changes sealed under them are opened; those allowed are applied, junk dropped. */
  private unseal(ws: string): void {
    const lookup = this.keys.lookup(ws)
    if (!lookup || this.held.size === 0) return
    for (const [key, h] of [...this.held.entries()]) {
      if (h.ws !== ws || h.change.plain !== null || h.change.epoch === null) continue
      const epochKey = lookup(h.change.epoch)
      if (!epochKey) continue
      const opened = openChange(ws, h.doc, h.change, epochKey)
      if (isRejection(opened)) {
        this.remove(key)
        this.log('warn', `a change by ${h.change.author} kept until its key came is refused: ${opened.detail}`)
        continue
      }
      h.change = opened
    }
    this.rejudge(ws)
  }

  /** Held changes of `docId` that a change here names as deps, and the held ones those name: endorsed. */
  private endorsed(docId: string): void {
    const keys = this.byDoc.get(docId)
    if (!keys) return
    const wanted = this.documents.missingDeps(docId).filter((hash) => keys.has(keyOf(docId, hash)))
    const release = new Set<string>()
    while (wanted.length) {
      const key = keyOf(docId, wanted.pop()!)
      const h = this.held.get(key)
      if (!h || release.has(key) || !this.readable(h)) continue
      release.add(key)
      for (const d of h.deps) if (keys.has(keyOf(docId, d))) wanted.push(d)
    }
    this.release([...release])
  }

  private release(keys: string[]): void {
    const byDoc = new Map<string, { ws: string; changes: ValidChange[] }>()
    for (const key of keys) {
      const h = this.remove(key)
      if (!h) continue
      const entry = byDoc.get(h.doc) ?? { ws: h.ws, changes: [] }
      entry.changes.push(h.change)
      byDoc.set(h.doc, entry)
    }
    for (const [doc, { ws, changes }] of byDoc) {
      this.log('debug', `applying ${changes.length} changes to ${doc} that were kept aside`)
      void this.documents.ingest(ws, doc, changes)
    }
  }
}

const shared = new WeakMap<Documents, HeldChanges>()

/** The one set of held changes of `documents`, made on first use. */
export function heldChangesOf(components: HeldChangesComponents): HeldChanges {
  const held = shared.get(components.documents) ?? new HeldChanges(components)
  shared.set(components.documents, held)
  return held
}
