/**
 * The content keys of each workspace this device holds, taken from the lockboxes sealed to it in
 * signed epoch and grant ops (crypto/README.md has the scheme), and the admin's duty of keeping them
 * right: the first epoch of a workspace, a new epoch whenever the current one was sealed to a device
 * that no longer reads (a removal, a leave, a demotion to keeper), and grants to readers that lack
 * the current key (someone added since, or concurrently with a rotation).
 *
 * Keys are never stored: they follow from the ops and this device's key, and are rebuilt on start.
 * A keeper holds none and never gets one.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { GrapevineError } from '../../../shared/protocol.ts'
import { ADMIN_ROLES, READER_ROLES } from '../../../shared/types.ts'
import { EpochKeyring, newEpochKey, sealChainLink, type ChainLink, type EpochKey } from '../crypto/epoch.ts'
import { CryptoError } from '../crypto/errors.ts'
import { openLockbox, sealTo } from '../crypto/lockbox.ts'
import type { Device } from '../identity/device.ts'
import type { Log } from '../log.ts'
import type { KeyLookup } from '../sync/change-validation.ts'
import type { NameKind, Namer, Workspaces } from './workspaces.ts'
import type { SealedName } from './membership.ts'
import { openContent, sealContent } from '../crypto/seal.ts'
import { MAX_NAME_CHARS } from '../../../shared/limits.ts'
import { InTurn } from '../in-turn.ts'

interface EpochKeysEvents {
  /** New keys of a workspace are held: what waited for them can be opened. */
  keys: [workspaceId: string]
  /** A teammate showed it holds a key it had not shown before: who has the current key changed. */
  confirmed: [workspaceId: string]
}

/** What a device's epoch keys are kept from (libp2p-style components, as the other parts of a peer). */
export interface EpochKeysComponents {
  device: Device
  workspaces: Workspaces
  log: Log
}

export class EpochKeys extends EventEmitter<EpochKeysEvents> implements Namer {
  private readonly rings = new Map<string, EpochKeyring>()
  /** Key ops already looked at, per workspace. */
  private readonly seen = new Map<string, Set<string>>()
  /** One pass at a time per workspace. */
  private readonly passes = new InTurn()
  private readonly device: Device
  private readonly workspaces: Workspaces
  private readonly log: Log
  /** Epochs each device has shown it holds (it sealed with one, or synced our ops), per workspace; a few per device. */
  private readonly confirmations = new Map<string, Map<string, string[]>>()
  private readonly onMembers = (ws: string): void => void this.refresh(ws)
  private stopped = false

  constructor(components: EpochKeysComponents) {
    super()
    const { device, workspaces, log } = components
    this.device = device
    this.workspaces = workspaces
    this.log = log
    workspaces.on('members', this.onMembers)
    // Names in membership ops are sealed from now on, and opened as keys arrive.
    workspaces.useNamer(this)
    this.on('keys', (ws) => workspaces.reopenNames(ws))
    for (const ws of workspaces.ids()) void this.refresh(ws)
  }

  seal(ws: string, kind: NameKind, subject: string, text: string): SealedName | null {
    const key = this.current(ws)
    if (!key) return null
    return { e: key.epochId, c: sealContent(key, new TextEncoder().encode(text), { kind, subject, author: this.device.deviceId }) }
  }

  open(ws: string, sealed: SealedName & { by: string }, kind: NameKind, subject: string): string | null {
    const key = this.key(ws, sealed.e)
    if (!key) return null
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(openContent(key, sealed.c, { kind, subject, author: sealed.by }))
      return text.length > 0 && text.length <= MAX_NAME_CHARS ? text : null
    } catch (err) {
      if (err instanceof CryptoError || err instanceof TypeError) return null
      throw err
    }
  }

  ready(ws: string): Promise<void> {
    return this.settled(ws)
  }

  stop(): void {
    this.stopped = true
    this.workspaces.off('members', this.onMembers)
  }

  private ring(ws: string): EpochKeyring {
    let ring = this.rings.get(ws)
    if (!ring) {
      ring = new EpochKeyring(ws)
      this.rings.set(ws, ring)
    }
    return ring
  }

  /** This device: the author of what it seals. */
  get deviceId(): string {
    return this.device.deviceId
  }

  /**
   * What validation opens sealed changes of `ws` with: the key of an epoch, if held; null for a
   * keeper, which takes sealed changes unopened.
   */
  lookup(ws: string): KeyLookup | null {
    if (this.workspaces.roleOf(ws, this.device.deviceId) === 'keeper') return null
    return (epochId) => this.key(ws, epochId)
  }

  /** The key of `epochId` in `ws`, if held here. */
  key(ws: string, epochId: string): EpochKey | null {
    const ring = this.rings.get(ws)
    return ring?.has(epochId) ? ring.get(epochId) : null
  }

  /** The current epoch's key of `ws`, if held here (what new content is sealed with). */
  current(ws: string): EpochKey | null {
    const epoch = this.workspaces.state(ws)?.epoch
    return epoch ? this.key(ws, epoch.id) : null
  }

  /** `device` has shown it holds the key of `epochId` in `ws`: it sealed something with it. */
  confirm(ws: string, device: string, epochId: string): void {
    let byDevice = this.confirmations.get(ws)
    if (!byDevice) {
      byDevice = new Map()
      this.confirmations.set(ws, byDevice)
    }
    const held = byDevice.get(device) ?? []
    if (held.includes(epochId)) return
    // Only members reach here (gossip and catch-up check first); a few epochs each is plenty.
    byDevice.set(device, [...held.slice(-7), epochId])
    this.emit('confirmed', ws)
  }

  /**
   * `device` took every op this device holds in `ws` (a catch-up finished): it has the current epoch's
   * op, and so its key if it was sealed to it.
   */
  synced(ws: string, device: string): void {
    const epoch = this.workspaces.state(ws)?.epoch
    if (epoch?.holders.has(device)) this.confirm(ws, device, epoch.id)
  }

  /** The readers that have shown they hold the current key (its maker and this device, if it holds it, count). */
  confirmedReaders(ws: string): Set<string> {
    const state = this.workspaces.state(ws)
    const out = new Set<string>()
    const epoch = state?.epoch
    if (!state || !epoch) return out
    for (const m of state.members.values()) {
      if (!READER_ROLES.includes(m.role)) continue
      const mine = m.deviceId === this.device.deviceId && this.key(ws, epoch.id) !== null
      if (mine || m.deviceId === epoch.by || this.confirmations.get(ws)?.get(m.deviceId)?.includes(epoch.id)) out.add(m.deviceId)
    }
    return out
  }

  /** Devices that were sealed the key the current epoch replaced and read no more (removed, left, keepers now). */
  dropped(ws: string): string[] {
    const state = this.workspaces.state(ws)
    const epoch = state?.epoch
    if (!state || !epoch) return []
    const ops = this.workspaces.keyOps(ws)
    const current = ops.find((o) => o.hash === epoch.op)
    if (current?.body.type !== 'epoch') return []
    const older = new Set(current.body.links.map(([id]) => id))
    const holders = new Set<string>()
    for (const o of ops) {
      const b = o.body
      if ((b.type === 'epoch' || b.type === 'grant') && older.has(b.epoch)) for (const [d] of b.boxes) holders.add(d)
    }
    return [...holders].filter((d) => {
      const role = state.members.get(d)?.role
      return role === undefined || !READER_ROLES.includes(role)
    })
  }

  /** Waits for the passes under way (keys being opened, an epoch being made). */
  settled(ws: string): Promise<void> {
    return this.passes.idle(ws)
  }

  /**
   * The key to seal new content of `ws` with, once any pass under way is done; a GrapevineError
   * ('conflict') that says why when there is none yet.
   */
  async sealing(ws: string): Promise<EpochKey> {
    const now = this.current(ws)
    if (now && !this.passes.busy(ws)) return now
    await this.settled(ws)
    const key = this.current(ws)
    if (key) return key
    const role = this.workspaces.roleOf(ws, this.device.deviceId)
    if (role === 'keeper') throw new GrapevineError('forbidden', 'A keeper stores the workspace sealed and cannot read or write it.')
    throw new GrapevineError(
      'conflict',
      "This device does not have the workspace's key yet: an admin's peer sends it when it is next online, then try again.",
    )
  }

  /** Looks for new lockboxes and links, then does the admin's duty. Serialized per workspace. */
  refresh(ws: string): Promise<void> {
    return this.passes.run(ws, () => this.pass(ws)).catch((err: Error) => this.log('warn', `workspace keys of ${ws}: ${err.message}`))
  }

  private async pass(ws: string): Promise<void> {
    if (this.stopped) return
    const added = await this.openBoxes(ws)
    if (added) this.emit('keys', ws)
    await this.maintain(ws)
  }

  /** Opens the lockboxes sealed to this device and every chain link it can; whether any key was added. */
  private async openBoxes(ws: string): Promise<boolean> {
    const ops = this.workspaces.keyOps(ws)
    const seen = this.seen.get(ws) ?? new Set<string>()
    this.seen.set(ws, seen)
    const ring = this.ring(ws)
    let added = false
    const links: ChainLink[] = []
    for (const o of ops) {
      const b = o.body
      if (b.type !== 'epoch' && b.type !== 'grant') continue
      if (b.type === 'epoch') for (const [older, box] of b.links) links.push({ newerEpochId: b.epoch, olderEpochId: older, box })
      if (seen.has(o.hash)) continue
      seen.add(o.hash)
      if (ring.has(b.epoch)) continue
      const box = b.boxes.find(([d]) => d === this.device.deviceId)?.[1]
      if (!box) continue
      try {
        ring.add(await openLockbox(this.device, box, { workspaceId: ws, epochId: b.epoch }))
        added = true
      } catch (err) {
        if (!(err instanceof CryptoError)) throw err
        this.log('warn', `a lockbox for epoch ${b.epoch.slice(0, 12)} of ${ws} by ${b.by} does not open: ${err.message}`)
      }
    }
    try {
      if (ring.recover(links).length) added = true
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err
      this.log('warn', `a chain link of ${ws} does not open: ${err.message}`)
    }
    return added
  }

  /** An admin (that reads) keeps the workspace's epoch right: see the module comment. */
  private async maintain(ws: string): Promise<void> {
    const state = this.workspaces.state(ws)
    const me = state?.members.get(this.device.deviceId)
    if (!state || !me || !ADMIN_ROLES.includes(me.role) || !READER_ROLES.includes(me.role)) return
    const readers = [...state.members.values()].filter((m) => READER_ROLES.includes(m.role)).map((m) => m.deviceId)
    const epoch = state.epoch
    const stale = epoch === null || [...epoch.holders].some((d) => !readers.includes(d))
    const ring = this.ring(ws)
    if (stale) {
      const key = newEpochKey(ws, randomBytes(16).toString('hex'))
      const boxes: [string, Uint8Array][] = []
      for (const d of readers) boxes.push([d, await sealTo(d, key)])
      const links = this.linksFor(ws, key)
      // Held before the op is announced, so this device's next change can be sealed with it at once.
      ring.add(key)
      await this.workspaces.act(ws, { type: 'epoch', epoch: key.epochId, boxes, links })
      const why =
        epoch === null ? 'first' : `after ${[...epoch.holders].filter((d) => !readers.includes(d)).length} devices stopped reading`
      this.log('info', `new epoch ${key.epochId.slice(0, 12)} of ${ws} (${why}), sealed to ${boxes.length} devices`)
      return
    }
    const missing = readers.filter((d) => !epoch.holders.has(d))
    if (missing.length === 0 || !ring.has(epoch.id)) return
    const key = ring.get(epoch.id)
    const boxes: [string, Uint8Array][] = []
    for (const d of missing) boxes.push([d, await sealTo(d, key)])
    await this.workspaces.act(ws, { type: 'grant', epoch: epoch.id, boxes })
    this.log('info', `granted epoch ${epoch.id.slice(0, 12)} of ${ws} to ${missing.length} devices`)
  }

  /**
   * Chain links for a new epoch: every key held here that no link already reaches from another held
   * key's epoch, sealed under the new key; whoever gets the new key then walks back to all of them.
   */
  private linksFor(ws: string, newer: EpochKey): [string, Uint8Array][] {
    const ring = this.ring(ws)
    const linked = new Set<string>()
    for (const o of this.workspaces.keyOps(ws)) {
      if (o.body.type === 'epoch') for (const [older] of o.body.links) linked.add(older)
    }
    const held = this.workspaces
      .keyOps(ws)
      .flatMap((o) => (o.body.type === 'epoch' ? [o.body.epoch] : []))
      .filter((id, i, all) => all.indexOf(id) === i && ring.has(id) && !linked.has(id))
    return held.slice(-64).map((id) => [id, sealChainLink(newer, ring.get(id)).box])
  }
}
