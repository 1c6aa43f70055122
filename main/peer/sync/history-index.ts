/**
 * History: each document's timeline of editing sessions, and any version of it read or restored.
 *
 * A session is one author's changes with no pause longer than `SESSION_GAP_MS` between them (as their
 * author's clock said, never later than this device saw them): who, when, characters inserted and
 * deleted, whether the title changed. Its version is its last change's hash: the document as its author
 * had it at the end of the session (Automerge's view at that head), the same on every peer, so a version
 * named in one place ("restore 3f2a9c") means the same text everywhere.
 *
 * Kept from the documents' own Automerge changes, not from the change log's rows: a run (sync/runs.ts)
 * replaces rows but not changes, and Automerge holds each change once whatever way it came. Counting is
 * incremental: each document's heads as counted last are stored (`history_progress`), and the changes
 * since them (`getChangesSince`) are counted a second after the first of them (from what their decode on
 * arrival said, change-effect.ts `opsEffect`; decoded again only when that is not known): those applied by
 * then, keystrokes still waiting to be applied together (doc-cache.ts `Loaded.defer`) after the pass that
 * applies them; and all at once before its timeline is read. A document never counted (a profile from before, or every document after
 * `rebuild`) is counted whole the first time, in slices that let edits through.
 *
 * A keeper counts nothing: it cannot read what it stores.
 */
import * as A from '@automerge/automerge'
import { actorPrefixFor, devicePublicKey } from '../identity/keys.ts'
import { singleFlight } from '../../../shared/throttle.ts'
import type { Log } from '../log.ts'
import type { Durable, HistorySessionRow, HistoryStore, MetaStore } from '../store/types.ts'
import { changeEffect, contentObjects } from './change-effect.ts'
import type { Documents } from './documents.ts'
import { InTurn } from '../in-turn.ts'

/** A pause longer than this (by one author, in one document) starts a new session. */
export const SESSION_GAP_MS = 10 * 60_000
/**
 * A document's edits are counted this long after the first one not counted yet (and at once before its
 * timeline is read). Waiting for a pause instead let a long run of edits pile up past what
 * `KnownEffects` keeps, and the count then decoded them all again at once (W2's typist: 10 s of CPU).
 */
const COUNT_MS = 1_000
/**
 * Changes counted between two turns of the event loop, when a long history is counted; or fewer, once
 * SLICE_MS have passed (a large change is counted by a diff of tens to hundreds of ms: a paste's ten
 * took 1.4 s in one turn).
 */
const SLICE = 4_000
const SLICE_MS = 50
const COUNTED_META = 'history_counted'

export interface HistoryComponents {
  store: Durable & MetaStore & HistoryStore
  documents: Pick<Documents, 'automerge' | 'appliedAutomerge' | 'list' | 'on' | 'effectOf'>
  /** This device's id: its own actors need no lookup. */
  self: string
  /** The workspaces whose documents this device can read. */
  readable: () => string[]
  log: Log
}

export class HistoryIndex {
  private readonly c: HistoryComponents
  /** Documents to count again: docId → workspace. */
  private readonly pending = new Map<string, string>()
  private timer: NodeJS.Timeout | null = null
  /** One count at a time per document. */
  private readonly counting = new InTurn()
  private stopped = false
  private zones: Map<string, number> | null = null
  readonly stats = { counted: 0, changes: 0 }

  constructor(components: HistoryComponents) {
    this.c = components
  }

  start(): void {
    this.c.documents.on('heads', (ws, docId) => this.touch(ws, docId))
    if (this.c.store.getMeta(COUNTED_META) === undefined)
      void this.rebuild().catch((err: unknown) => this.c.log('warn', `history: ${(err as Error).message}`))
  }

  /** Counts what waits to be counted, then stops. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    // Else a document edited just before the stop would be counted only at its next change (or when its
    // timeline is read) after a restart, and its sessions would be missing from the profile until then.
    const docs = [...this.pending.keys()]
    this.pending.clear()
    await Promise.allSettled(docs.map((d) => this.count(d)))
    this.stopped = true
    await this.counting.allIdle()
  }

  /** A document changed: counted once its edits pause. */
  touch(workspaceId: string, docId: string): void {
    // A keeper's documents cannot be read, so there is nothing to count.
    if (this.stopped || !this.c.readable().includes(workspaceId)) return
    this.pending.set(docId, workspaceId)
    this.timer ??= setTimeout(() => {
      this.timer = null
      const docs = [...this.pending]
      this.pending.clear()
      for (const [d, ws] of docs)
        void this.count(d, false, true).then(
          (complete) => {
            // Changes still waiting to be applied together are counted once they are, by a later pass.
            if (!complete) this.touch(ws, d)
          },
          (err: unknown) => this.c.log('warn', `history of ${d}: ${(err as Error).message}`),
        )
    }, COUNT_MS)
  }

  /** The document's sessions, the latest first (counted up to now first). */
  async sessions(docId: string, limit: number, before?: number): Promise<HistorySessionRow[]> {
    await this.count(docId)
    return this.c.store.listSessions(docId, limit, before)
  }

  /**
   * The full hash of the version `version` names: a session's version, or a prefix of one that only one
   * session's has; else a change of the document (a session still going on moves its version on, and
   * what was its version before stays a version), given whole or by a prefix only it has among the
   * stored ones. Null if none (or more than one) matches.
   */
  async resolve(docId: string, version: string): Promise<{ hash: string; session: HistorySessionRow | null } | null> {
    await this.count(docId)
    const found = this.c.store.findSession(docId, version)
    const versions = new Set(found.map((s) => s.version))
    if (versions.size === 1) return { hash: found[0]!.version, session: found[0]! }
    if (versions.size > 1) return null
    const hashes = version.length === 64 ? [version] : this.c.store.changeHashesStartingWith(docId, version, 2)
    if (hashes.length === 1 && A.hasHeads(this.c.documents.automerge(docId), hashes)) return { hash: hashes[0]!, session: null }
    return null
  }

  /** The time zone each teammate's presence last gave (minutes east of UTC). */
  zoneOf(deviceId: string): number | null {
    this.zones ??= this.c.store.deviceZones()
    return this.zones.get(deviceId) ?? null
  }

  /** Presence told a teammate's time zone: kept, for the times of their sessions when they are offline. */
  noteZone(deviceId: string, utcOffsetMinutes: number): void {
    this.zones ??= this.c.store.deviceZones()
    if (this.zones.get(deviceId) === utcOffsetMinutes || this.stopped) return
    this.zones.set(deviceId, utcOffsetMinutes)
    const { store } = this.c
    void store
      .write(() => store.setDeviceZone(deviceId, utcOffsetMinutes, Date.now()))
      .catch((err: unknown) => this.c.log('warn', `history: time zone of ${deviceId}: ${(err as Error).message}`))
  }

  /** Counts every readable document again, from nothing; resolves with how many were counted. */
  readonly rebuild: () => Promise<number> = singleFlight(() => this.rebuildNow())

  private async rebuildNow(): Promise<number> {
    const { store, documents } = this.c
    let counted = 0
    for (const ws of this.c.readable())
      for (const row of documents.list(ws, true)) {
        if (this.stopped) return counted
        try {
          await this.count(row.id, true)
          counted++
        } catch (err) {
          this.c.log('warn', `history of ${row.id}: ${(err as Error).message}`)
        }
      }
    if (!this.stopped) await store.write(() => store.setMeta(COUNTED_META, String(Date.now())))
    this.c.log('info', `history counted for ${counted} documents`)
    return counted
  }

  /**
   * Counts the document's changes since it was counted last; `fresh`: all of them again, from nothing.
   * `applied`: only those applied so far, leaving those still waiting to be applied together (a long
   * text's keystrokes, `Loaded.defer`) for later, rather than apply them for the count; resolves with
   * whether every change taken was counted.
   */
  count(docId: string, fresh = false, applied = false): Promise<boolean> {
    return this.counting.run(docId, () => this.countNow(docId, fresh, applied))
  }

  private async countNow(docId: string, fresh: boolean, applied: boolean): Promise<boolean> {
    if (this.stopped) return true
    const { store } = this.c
    const { doc, complete } = applied
      ? this.c.documents.appliedAutomerge(docId)
      : { doc: this.c.documents.automerge(docId), complete: true }
    const heads = A.getHeads(doc)
    const before = fresh ? undefined : store.historyHeads(docId)
    if (before && sameHeads(before, heads)) return complete
    // Heads counted before that this document does not hold (a rebuilt store): count it from the start.
    const since = before && A.hasHeads(doc, before) ? before : []
    const objs = contentObjects(doc)
    const changes = A.getChangesMetaSince(doc, since)
    const authorOf = this.authors(docId)
    /** Sessions changed in this count, by author; stored ones are read once and kept here by id. */
    const touched = new Map<string, HistorySessionRow[]>()
    const byId = new Map<number, HistorySessionRow>()
    const fits = (s: HistorySessionRow, at: number): boolean => at <= s.endedAt + SESSION_GAP_MS && at >= s.startedAt - SESSION_GAP_MS
    /** The author's session that a change made at `at` belongs to, if any: one of this count's, or a stored one. */
    const sessionFor = (author: string, at: number): HistorySessionRow | undefined => {
      const mine = touched.get(author) ?? []
      const near = mine.filter((s) => fits(s, at)).sort((x, y) => y.endedAt - x.endedAt)[0]
      if (near || !since.length) return near
      const stored = store.sessionNear(docId, author, at, SESSION_GAP_MS)
      if (!stored) return undefined
      const kept = byId.get(stored.id) ?? stored
      byId.set(kept.id, kept)
      if (!mine.includes(kept)) touched.set(author, [...mine, kept])
      return kept
    }
    const now = Date.now()
    let sliceStarted = performance.now()
    for (let i = 0; i < changes.length; i++) {
      if (i > 0 && (i % SLICE === 0 || performance.now() - sliceStarted > SLICE_MS)) {
        await new Promise((r) => setImmediate(r))
        if (this.stopped) return true
        sliceStarted = performance.now()
      }
      const d = changes[i]!
      const { edits, inserted, deleted, retitled } = changeEffect(doc, d, objs, this.c.documents.effectOf(d.hash))
      const effect = { inserted, deleted, retitled }
      if (!edits) continue // an endorsement of history (documents.ts endorse): no edit
      const author = authorOf(d.actor)
      const at = Math.min(d.time * 1000, now)
      const s = sessionFor(author, at)
      if (s) {
        s.startedAt = Math.min(s.startedAt, at)
        s.endedAt = Math.max(s.endedAt, at)
        s.inserted += effect.inserted
        s.deleted += effect.deleted
        s.changes++
        s.retitled ||= effect.retitled
        s.version = d.hash
      } else {
        touched.set(author, [
          ...(touched.get(author) ?? []),
          { id: 0, docId, author, startedAt: at, endedAt: at, ...effect, changes: 1, version: d.hash },
        ])
      }
    }
    this.stats.changes += changes.length
    this.stats.counted++
    if (this.stopped) return true
    await store.write(() => {
      if (!since.length) store.clearHistory(docId)
      for (const list of touched.values()) for (const s of list) s.id = store.putSession(s)
      store.setHistoryHeads(docId, heads)
    })
    return complete
  }

  /** Who made changes of an actor: the device whose key its first half hashes (devices that signed the document's changes). */
  authors(docId: string): (actor: string) => string {
    const byPrefix = new Map<string, string>()
    for (const device of new Set([this.c.self, ...this.c.store.changeAuthors(docId)])) {
      const pub = devicePublicKey(device)
      if (pub) byPrefix.set(actorPrefixFor(pub.raw), device)
    }
    return (actor) => byPrefix.get(actor.slice(0, 32)) ?? ''
  }
}

function sameHeads(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h) => b.includes(h))
}
