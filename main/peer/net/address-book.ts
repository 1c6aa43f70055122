/**
 * Where teammates can be reached, as they say themselves, passed from member to member.
 *
 * Each device signs a record of its own addresses (direct, mapped, relayed; `addressRecordPayload`)
 * with a count that grows with every new record, and hands it, with the newest record it holds of
 * every other device, to each teammate it connects to (ADDRS_PROTOCOL, one frame per stream). A
 * record of device D goes to teammate T only if some workspace has D, T and this device as members:
 * addresses stay among the members of the workspaces their device is in. A receiver checks the
 * signature against D's own key (a member cannot move a teammate's address elsewhere), keeps the newer
 * record per device, passes what was new on to its other connected teammates, and dials D if it is not
 * connected. So a teammate who can reach any one member learns how to reach them all, and the inviter
 * is no longer the one peer everyone else depends on. Records of a device not yet known as a teammate
 * (its membership op still on the way) wait in a small memory until it is one.
 */
import { lpStream } from '@libp2p/utils'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { MAX_ANNOUNCED_ADDRS } from '../../../shared/limits.ts'
import {
  ADDRS_PROTOCOL,
  ADDRS_VERSION,
  MAX_ADDRS_FRAME_BYTES,
  addrsFrame,
  addressRecord,
  addressRecordPayload,
  decodeMessage,
  encodeMessage,
  type AddressRecord,
} from '../wire/peer-protocol.ts'
import { signPayload, verifyPayload } from '../identity/keys.ts'
import type { Device } from '../identity/device.ts'
import type { Durable, MetaStore, PeerBook } from '../store/types.ts'
import type { Log } from '../log.ts'
import type { GrapevineNode } from './node.ts'
import { guardStreams } from './limits.ts'

const SEQ_META = 'address_seq'
/** Records of devices not (yet) known as teammates, kept in case their membership op is on the way. */
const MAX_WAITING = 256
/** New records are passed on together at most this often per teammate. */
const FORWARD_MS = 50
const STREAM_TIMEOUT_MS = 10_000

/** Who is a member of what, as far as this device knows. */
export interface MemberView {
  ids(): string[]
  state(workspaceId: string): { members: ReadonlyMap<string, unknown> } | undefined
  teammates(): Set<string>
}

export interface AddressBookComponents {
  node: GrapevineNode
  store: Durable & MetaStore & PeerBook
  device: Pick<Device, 'deviceId' | 'signingKey'>
  members: MemberView
  /**
   * Called when a teammate's record brings addresses: it dials a teammate it is not connected to, and
   * tries a direct address of one it reaches only through a relay.
   */
  dial: (deviceId: string) => void
  /** Addresses of this device that libp2p does not know of: the router's, where it forwards a port (net/port-mapping.ts). */
  mapped?: () => string[]
  log: Log
}

export interface AddressBookStats {
  /** Frames sent and received. */
  sent: number
  received: number
  /** Records taken as new. */
  accepted: number
  /** Records refused: their signature does not verify. */
  refused: number
  /** Frames refused whole: a stranger's, over the size cap, not CBOR, not the schema. */
  badFrames: number
}

export class AddressBook {
  readonly stats: AddressBookStats = { sent: 0, received: 0, accepted: 0, refused: 0, badFrames: 0 }
  private readonly c: AddressBookComponents
  private readonly records = new Map<string, AddressRecord>()
  private readonly waiting = new Map<string, AddressRecord>()
  private own: AddressRecord | null = null
  private ownKey = ''
  private signing: Promise<void> = Promise.resolve()
  private readonly outbox = new Map<string, { subjects: Set<string>; want: boolean }>()
  private known = new Set<string>()
  private flushTimer: NodeJS.Timeout | null = null
  private stopped = false

  constructor(components: AddressBookComponents) {
    this.c = components
  }

  async start(): Promise<void> {
    this.known = this.c.members.teammates()
    for (const row of this.c.store.listAddressRecords()) {
      try {
        const r = decodeMessage(addressRecord, row.record, MAX_ADDRS_FRAME_BYTES, 'stored address record')
        this.records.set(r.d, r)
      } catch (err) {
        this.c.log('warn', `ignored a stored address record of ${row.device}: ${(err as Error).message}`)
      }
    }
    const handler = guardStreams(this.c.node, ADDRS_PROTOCOL, (stream, connection) => this.inbound(stream, connection))
    await this.c.node.handle(ADDRS_PROTOCOL, handler, { maxInboundStreams: 4, runOnLimitedConnection: true })
    this.c.node.addEventListener('self:peer:update', () => void this.resign())
    this.c.node.addEventListener('peer:identify', (evt) => this.connected(evt.detail.peerId))
    await this.resign()
  }

  stop(): void {
    this.stopped = true
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = null
  }

  /** Where `deviceId` says it can be reached (empty if it never said). */
  addressesOf(deviceId: string): string[] {
    return this.records.get(deviceId)?.a ?? []
  }

  /** This device's own current record (tests, and the network view). */
  ownRecord(): AddressRecord | null {
    return this.own
  }

  /**
   * Membership changed: records that waited for their device to become a teammate are taken, and
   * every connected teammate is given what it may now know (a new member's addresses, or its own
   * first view of the others').
   */
  membersChanged(): void {
    const teammates = this.c.members.teammates()
    for (const [d, r] of this.waiting) {
      if (!teammates.has(d)) continue
      this.waiting.delete(d)
      void this.take(r, null)
    }
    // A teammate new to this device may have sent its records while it was still a stranger here (and
    // been refused): it is asked for them again.
    const before = this.known
    this.known = teammates
    for (const peer of new Set(this.c.node.getConnections().map((c) => c.remotePeer.toString()))) {
      if (teammates.has(peer)) this.queue(peer, [...this.records.keys(), this.c.device.deviceId], !before.has(peer))
    }
  }

  /** A teammate connected (identify ran, so its protocols are known): it gets every record it may know. */
  private connected(peer: PeerId): void {
    const id = peer.toString()
    if (!this.c.members.teammates().has(id)) return
    this.queue(id, [...this.records.keys(), this.c.device.deviceId])
  }

  /** Signs a new record of this device's addresses if they changed, and hands it to connected teammates. */
  resign(): Promise<void> {
    // After a failed round (a write refused while stopping, say) the next one still runs.
    this.signing = this.signing
      .catch(() => {})
      .then(async () => {
        if (this.stopped) return
        const mapped = (this.c.mapped?.() ?? []).flatMap((s) => {
          try {
            return [multiaddr(s)]
          } catch {
            return []
          }
        })
        // The router's forwarded port first: it is the address a teammate anywhere can dial directly.
        const a = announceable([...mapped, ...this.c.node.getMultiaddrs()], this.c.device.deviceId)
        const key = [...a].sort().join(' ')
        if (this.own && key === this.ownKey) return
        const seq = Math.max(Number(this.c.store.getMeta(SEQ_META)?.toString() ?? '0'), this.own?.q ?? 0) + 1
        // The count is on disk before the record leaves: a record sent, then forgotten in a crash, must
        // not share its count with a later one (teammates would keep the first).
        await this.c.store.write(() => this.c.store.setMeta(SEQ_META, String(seq)))
        const unsigned = { d: this.c.device.deviceId, q: seq, a }
        this.own = { ...unsigned, s: signPayload(this.c.device.signingKey, addressRecordPayload(unsigned)) }
        this.ownKey = key
        for (const t of this.connectedTeammates()) this.queue(t, [this.c.device.deviceId])
      })
    return this.signing.catch((err: unknown) => this.c.log('warn', `could not sign this device's addresses: ${(err as Error).message}`))
  }

  private connectedTeammates(): string[] {
    const teammates = this.c.members.teammates()
    return [...new Set(this.c.node.getConnections().map((c) => c.remotePeer.toString()))].filter((p) => teammates.has(p))
  }

  /** Whether `to` may be told where `subject` is: some workspace has both, and this device. */
  private mayTell(to: string, subject: string): boolean {
    if (to === subject) return false
    const self = this.c.device.deviceId
    return this.c.members.ids().some((ws) => {
      const m = this.c.members.state(ws)?.members
      return m?.has(self) && m.has(to) && (subject === self || m.has(subject))
    })
  }

  private queue(peer: string, subjects: string[], want = false): void {
    if (this.stopped) return
    let box = this.outbox.get(peer)
    if (!box) {
      box = { subjects: new Set(), want: false }
      this.outbox.set(peer, box)
    }
    for (const s of subjects) box.subjects.add(s)
    box.want ||= want
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null
      this.flush()
    }, FORWARD_MS)
  }

  private flush(): void {
    const boxes = [...this.outbox]
    this.outbox.clear()
    for (const [peer, box] of boxes) {
      const records = [...box.subjects].flatMap((s) => {
        const r = s === this.c.device.deviceId ? this.own : this.records.get(s)
        return r && this.mayTell(peer, s) ? [r] : []
      })
      if (records.length || box.want) void this.send(peer, records, box.want)
    }
  }

  private async send(peer: string, records: AddressRecord[], want: boolean): Promise<void> {
    const conn = this.c.node.getConnections().find((c) => c.status === 'open' && c.remotePeer.toString() === peer)
    if (!conn) return
    let stream: Stream | undefined
    try {
      const signal = AbortSignal.timeout(STREAM_TIMEOUT_MS)
      stream = await conn.newStream(ADDRS_PROTOCOL, { signal, runOnLimitedConnection: true })
      await lpStream(stream, { maxDataLength: MAX_ADDRS_FRAME_BYTES }).write(
        encodeMessage({ v: ADDRS_VERSION, r: records, ...(want ? { w: true } : {}) }),
        { signal },
      )
      await stream.close({ signal })
      this.stats.sent++
    } catch (err) {
      stream?.abort(err as Error)
      this.c.log('debug', `addresses to ${peer}: ${(err as Error).message}`)
    }
  }

  private async inbound(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString()
    if (!this.c.members.teammates().has(from)) {
      this.stats.badFrames++
      stream.abort(new Error('addresses are for teammates only'))
      return
    }
    try {
      const signal = AbortSignal.timeout(STREAM_TIMEOUT_MS)
      const data = await lpStream(stream, { maxDataLength: MAX_ADDRS_FRAME_BYTES }).read({ signal })
      const frame = decodeMessage(addrsFrame, data.subarray(), MAX_ADDRS_FRAME_BYTES, 'address records')
      this.stats.received++
      await stream.close({ signal }).catch(() => {})
      for (const r of frame.r) await this.take(r, from)
      if (frame.w) this.queue(from, [...this.records.keys(), this.c.device.deviceId])
    } catch (err) {
      this.stats.badFrames++
      this.c.log('warn', `refused address records from ${from}: ${(err as Error).message}`)
      stream.abort(err as Error)
    }
  }

  /** One record from `from` (null: one that waited): checked, kept if newer, passed on, dialled. */
  private async take(r: AddressRecord, from: string | null): Promise<void> {
    const self = this.c.device.deviceId
    // Most records a teammate hands over are ones this device holds already (everyone passes on everything
    // at every connection): a record no newer than the one held changes nothing, so it is not verified.
    const held = this.records.get(r.d)
    if (held && held.q >= r.q) return
    if (!verifyPayload(r.d, addressRecordPayload(r), r.s)) {
      this.stats.refused++
      this.c.log('warn', `refused an address record of ${r.d} from ${from}: its signature does not verify`)
      return
    }
    if (r.d === self) {
      // An older record of this device (a profile restored from a backup): the next count is above it.
      if (r.q >= (this.own?.q ?? 0) && this.own) {
        await this.c.store.write(() => this.c.store.setMeta(SEQ_META, String(r.q)))
        this.ownKey = ''
        await this.resign()
      }
      return
    }
    if (!this.c.members.teammates().has(r.d)) {
      const w = this.waiting.get(r.d)
      if (w && w.q >= r.q) return
      this.waiting.delete(r.d)
      if (this.waiting.size >= MAX_WAITING) this.waiting.delete(this.waiting.keys().next().value!)
      this.waiting.set(r.d, r)
      return
    }
    this.records.set(r.d, r)
    this.stats.accepted++
    await this.c.store.write(() => this.c.store.putAddressRecord(r.d, r.q, encodeMessage(r)))
    for (const t of this.connectedTeammates()) if (t !== from) this.queue(t, [r.d])
    this.c.dial(r.d)
  }
}

/** This device's addresses worth telling teammates: no wildcard port, no /p2p of its own, at most the cap. */
function announceable(addrs: Multiaddr[], self: string): string[] {
  const suffix = `/p2p/${self}`
  const out = new Set<string>()
  for (const ma of addrs) {
    let s = ma.toString()
    if (s.endsWith(suffix)) s = s.slice(0, -suffix.length)
    if (s.includes('/tcp/0/') || s.endsWith('/tcp/0')) continue
    out.add(s)
  }
  return [...out].slice(0, MAX_ANNOUNCED_ADDRS)
}
