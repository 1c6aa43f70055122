/**
 * This device's changes that left alone (typed with a teammate online, each sealed, signed and sent as it
 * was made), put under covers (covers.ts) once typing in the document pauses: one sealed bundle and one
 * signature for up to MAX_COVER_CHANGES of them. The cover takes the place of their bytes and signatures
 * in this device's log, and goes to the teammates, whose readers do the same once they have checked it
 * (documents.ts `writeChanges`); from then on catch-up sends a teammate who was away the cover, not an
 * envelope per keystroke.
 *
 * A peer that stops covers what waits for the pause at once (`now`), while its network is still up.
 *
 * Only changes of one epoch and one membership state go under one cover (it is sealed and judged as one);
 * fewer than `COVER_MIN` such changes are left alone. A cover holds its changes in the order Automerge's
 * bundle has them, each after the covered changes it builds on.
 */
import * as A from '@automerge/automerge'
import { MAX_CHANGE_BYTES, MAX_COVER_CHANGES } from '../../../shared/limits.ts'
import { SEAL_OVERHEAD } from '../crypto/seal.ts'
import type { Device } from '../identity/device.ts'
import type { Log } from '../log.ts'
import type { ChangeLog, ChangeRow, Durable } from '../store/types.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import { sealCover } from './change-validation.ts'
import { coveredChanges } from './covers.ts'
import type { DocCache } from './doc-cache.ts'

/** A document's own changes left alone are covered once none has been made there for this long. */
export const COVER_IDLE_MS = 5_000
/** Fewer than this many (of one epoch and membership state) are left alone: a cover of a few saves little. */
export const COVER_MIN = 64

export interface OwnCoversComponents {
  store: Durable & ChangeLog
  device: Device
  keys: Pick<EpochKeys, 'key'>
  cache: Pick<DocCache, 'load'>
  /** Whether this device may still write in the workspace: a device whose write right was revoked makes no cover. */
  canWrite: (ws: string) => boolean
  /**
   * The document's own changes kept to leave in a run (runs.ts `Runs.kept`): stored alone and signed as any,
   * but nobody has them yet, and a run may take their place when a connection opens. Covered, they would
   * leave alone first, and a teammate would then hold the run's last change as the cover's row, without the
   * rest of the run (convergence seed 1928512763).
   */
  kept: (docId: string) => ReadonlySet<string>
  /** Sends covers made here to the teammates (as own changes go: the live path and gossip). */
  publish: (ws: string, docId: string, items: SignedChange[]) => void
  log: Log
}

export class OwnCovers {
  private readonly c: OwnCoversComponents
  private readonly idleMs: number
  private readonly min: number
  /** Per document, the pause awaited before its own changes go under covers, and its workspace. */
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; ws: string }>()
  /** Coverings under way. */
  private readonly running = new Set<Promise<void>>()
  private stopped = false
  /** Covers made and changes put under them (tests and the bench look). */
  readonly stats = { covers: 0, changes: 0 }

  constructor(components: OwnCoversComponents, when: { idleMs?: number; min?: number } = {}) {
    this.c = components
    this.idleMs = when.idleMs ?? COVER_IDLE_MS
    this.min = Math.max(2, when.min ?? COVER_MIN)
  }

  /** An own change of the document left alone: its covering waits until typing there pauses. */
  sent(ws: string, docId: string): void {
    if (this.stopped) return
    const t = this.timers.get(docId)
    if (t) t.timer.refresh()
    else {
      const timer = setTimeout(() => {
        this.timers.delete(docId)
        void this.run(ws, docId)
      }, this.idleMs)
      timer.unref()
      this.timers.set(docId, { timer, ws })
    }
  }

  /** Covers at once what waits for typing to pause, and what is being covered (the peer is stopping). */
  async now(): Promise<void> {
    const waiting = [...this.timers]
    this.timers.clear()
    for (const [, { timer }] of waiting) clearTimeout(timer)
    await Promise.all(this.running)
    for (const [docId, { ws }] of waiting) await this.run(ws, docId)
  }

  private run(ws: string, docId: string): Promise<void> {
    const covering = this.cover(ws, docId)
      .then(() => {})
      .catch((err: unknown) => this.c.log('warn', `${docId}: covering own changes failed: ${(err as Error).message}`))
      .finally(() => this.running.delete(covering))
    this.running.add(covering)
    return covering
  }

  /** Puts the document's own changes left alone under covers now; returns how many it covered. */
  async cover(ws: string, docId: string): Promise<number> {
    const { store, device } = this.c
    if (!this.c.canWrite(ws)) return 0
    const kept = this.c.kept(docId)
    const rows = store.coverable(docId, device.deviceId).filter((r) => !kept.has(r.hash))
    if (rows.length < this.min) return 0
    let covered = 0
    for (const group of sameState(rows)) {
      if (group.length < this.min) continue
      for (let at = 0; at < group.length; at += MAX_COVER_CHANGES) {
        const chunk = group.slice(at, at + MAX_COVER_CHANGES)
        if (chunk.length >= 2) covered += await this.coverRows(ws, docId, chunk)
      }
    }
    return covered
  }

  /** One cover of `rows` (or two halves, if its bundle is over the wire's cap), stored and sent. */
  private async coverRows(ws: string, docId: string, rows: ChangeRow[]): Promise<number> {
    const { store, device, keys, cache } = this.c
    const epoch = rows[0]!.epoch!
    const m = rows[0]!.m!
    const key = keys.key(ws, epoch)
    if (!key) return 0
    const hashes = rows.map((r) => r.hash)
    const bundle = A.saveBundle(cache.load(docId).doc, hashes)
    if (bundle.byteLength + SEAL_OVERHEAD > MAX_CHANGE_BYTES) {
      if (rows.length < 4) return 0
      const mid = rows.length >> 1
      return (await this.coverRows(ws, docId, rows.slice(0, mid))) + (await this.coverRows(ws, docId, rows.slice(mid)))
    }
    // The cover says its changes in the order the bundle holds them, which is what a reader checks against.
    const changes = A.readBundle(bundle).changes
    const wanted = new Set(hashes)
    if (changes.length !== hashes.length || !changes.every((c) => wanted.has(c.hash))) {
      this.c.log('warn', `${docId}: a bundle of ${hashes.length} own changes held ${changes.length} others; not covered`)
      return 0
    }
    const last = changes.at(-1)!
    const { item, change } = sealCover(
      device,
      key,
      ws,
      docId,
      {
        bundle,
        changes: changes.map((c) => ({ hash: c.hash, deps: c.deps })),
        actor: last.actor,
        time: last.time,
        empty: changes.every((c) => c.ops.length === 0),
      },
      m,
    )
    // Its shape as a keeper will check it, before anything is stored or sent.
    coveredChanges({ k: item.k!, kd: item.kd!, d: item.d!, h: item.h!, n: item.n! })
    const cover = { author: device.deviceId, signature: item.s, bytes: item.c, epoch, m, deps: change.deps, k: item.k!, kd: item.kd! }
    const stored = await store.write(() => {
      // Still each alone: a run whose sealing had begun when they were read (runs.ts `Runs.seal` takes the
      // changes at once, its commit comes later, before this one) may have taken the place of some. Then this
      // cover is neither stored nor sent.
      const now = store.getChanges(docId, hashes)
      if (now.length !== hashes.length || now.some((r) => r.n !== 1 || r.cover !== null || r.signature.byteLength === 0)) return null
      return store.putCover(docId, cover, change.covered!, Date.now(), true)
    })
    if (!stored) {
      this.c.log('warn', `${docId}: ${hashes.length} own changes are no longer each alone in the log; not covered`)
      return 0
    }
    const { replaced } = stored
    this.stats.covers++
    this.stats.changes += replaced
    this.c.publish(ws, docId, [item])
    return replaced
  }

  /** Covers what waits (`now`), then covers no more. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.now()
  }
}

/** Consecutive rows under one epoch and one membership state. */
function sameState(rows: ChangeRow[]): ChangeRow[][] {
  const groups: ChangeRow[][] = []
  let key = ''
  for (const r of rows) {
    const k = `${r.epoch} ${r.m!.join(',')}`
    if (k !== key || groups.length === 0) groups.push([])
    key = k
    groups.at(-1)!.push(r)
  }
  return groups
}
