/**
 * Presence: which document each teammate has open and where their selection is. Ephemeral: it is
 * gossiped (throttled, and repeated every few seconds while it holds), never stored, and forgotten
 * when a teammate stops repeating it.
 */
import { EventEmitter } from 'node:events'
import type { PresenceInfo } from '../../../shared/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'

/** What one device says of itself: the open document and the selection. */
export type PresenceState = Pick<PresenceInfo, 'docId' | 'cursor'>
interface PresenceEvents {
  change: [PresenceInfo]
}

const THROTTLE_MS = 80
const REPEAT_MS = 10_000
const EXPIRE_MS = 35_000
/** Teammates' presences kept at once (members only reach here, but the map must not grow without bound). */
const MAX_REMOTE = 1024

/** What presence is kept with (libp2p-style components, as the other parts of a peer). */
export interface PresenceComponents {
  workspaces: Workspaces
  /** Sends this device's presence in a workspace to its teammates (sync/gossip.ts `publishPresence`). */
  publish: (workspaceId: string, state: PresenceState, utcOffsetMinutes: number) => void
}

export class Presence extends EventEmitter<PresenceEvents> {
  private readonly remote = new Map<string, PresenceInfo>()
  private readonly local = new Map<string, { state: PresenceState; sentAt: number; timer: NodeJS.Timeout | null }>()
  private readonly ticker: NodeJS.Timeout
  private readonly workspaces: Workspaces
  private readonly publish: (workspaceId: string, state: PresenceState, utcOffsetMinutes: number) => void

  constructor(components: PresenceComponents) {
    super()
    const { workspaces, publish } = components
    this.workspaces = workspaces
    this.publish = publish
    this.ticker = setInterval(() => this.tick(), 1000)
    this.ticker.unref()
  }

  /** This device's presence in a workspace, from one of its clients. */
  set(workspaceId: string, state: PresenceState): void {
    const entry = this.local.get(workspaceId) ?? { state, sentAt: 0, timer: null }
    entry.state = state
    this.local.set(workspaceId, entry)
    if (entry.timer) return
    const wait = Math.max(0, entry.sentAt + THROTTLE_MS - Date.now())
    entry.timer = setTimeout(() => {
      entry.timer = null
      entry.sentAt = Date.now()
      this.publish(workspaceId, entry.state, utcOffset())
    }, wait)
  }

  /** A teammate's presence, as gossiped (the caller has checked that `deviceId` is a member). */
  receive(workspaceId: string, deviceId: string, state: PresenceState, utcOffsetMinutes: number): void {
    const name = this.workspaces.state(workspaceId)?.members.get(deviceId)?.name ?? deviceId.slice(-8)
    const info: PresenceInfo = { workspaceId, deviceId, name, ...state, utcOffsetMinutes, at: Date.now() }
    const before = this.remote.get(`${workspaceId}/${deviceId}`)
    if (!before && this.remote.size >= MAX_REMOTE) return
    this.remote.set(`${workspaceId}/${deviceId}`, info)
    if (!before || before.docId !== info.docId || JSON.stringify(before.cursor) !== JSON.stringify(info.cursor)) this.emit('change', info)
  }

  list(workspaceId: string): PresenceInfo[] {
    return [...this.remote.values()].filter((p) => p.workspaceId === workspaceId)
  }

  private tick(): void {
    const now = Date.now()
    for (const [ws, entry] of this.local) {
      if (!entry.timer && now - entry.sentAt > REPEAT_MS && entry.state.docId !== null) {
        entry.sentAt = now
        this.publish(ws, entry.state, utcOffset())
      }
    }
    for (const [key, p] of this.remote) {
      if (now - p.at > EXPIRE_MS) {
        this.remote.delete(key)
        this.emit('change', { ...p, docId: null, cursor: null })
      }
    }
  }

  stop(): void {
    clearInterval(this.ticker)
    for (const e of this.local.values()) if (e.timer) clearTimeout(e.timer)
  }
}

/** Minutes east of UTC, as people write time zones (UTC+2 is 120). */
function utcOffset(): number {
  return -new Date().getTimezoneOffset()
}
