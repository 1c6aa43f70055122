/**
 * What main does with the peer's events on its own client: a native notification when a teammate
 * edits a followed document while no Grapevine window has focus, and the number of unread
 * documents on the dock/taskbar badge. Electron's Notification and app are behind `deps`.
 */
import type { ClientEvent, PeerClient } from '../shared/protocol.ts'
import { MAX_NAME_CHARS, MAX_TITLE_CHARS } from '../shared/limits.ts'

export interface ActivityDeps {
  isAppFocused(): boolean
  notify(notification: { title: string; body: string; docId: string }): void
  setBadge(count: number): void
  log(message: string): void
  now?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  /** One notification per document per this interval: a teammate typing is one event, not fifty. */
  quietMs?: number
  badgeDelayMs?: number
}

type ActivityEvent = Extract<ClientEvent, { type: 'doc.activity' }>

// Names and titles come from teammates: plain text, bounded, no control characters.
const clean = (s: string, max: number): string =>
  s
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point: they are removed
    .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ')
    .trim()
    .slice(0, max)

/** The notification's text for one activity event. */
export function notificationText(event: ActivityEvent): { title: string; body: string } {
  const who = clean(event.byName ?? '', MAX_NAME_CHARS) || 'A teammate'
  const doc = clean(event.title, MAX_TITLE_CHARS) || 'Untitled'
  return { title: doc, body: `${who} edited this document.` }
}

export class ActivityNotifier {
  private readonly lastShown = new Map<string, number>()
  private badgeTimer = false
  private readonly deps: ActivityDeps
  private readonly now: () => number
  private readonly setTimer: (fn: () => void, ms: number) => unknown

  constructor(deps: ActivityDeps) {
    this.deps = deps
    this.now = deps.now ?? Date.now
    this.setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
  }

  /** Follows `client` (a fresh one after each peer restart); returns the unsubscribe. */
  attach(client: PeerClient): () => void {
    const off = client.onEvent((event) => this.onEvent(client, event))
    this.scheduleBadge(client)
    return off
  }

  private onEvent(client: PeerClient, event: ClientEvent): void {
    if (event.type === 'doc.activity') this.onActivity(event)
    if (event.type === 'doc.activity' || event.type === 'doc.list' || event.type === 'workspace.list') this.scheduleBadge(client)
  }

  private onActivity(event: ActivityEvent): void {
    if (this.deps.isAppFocused()) return
    const now = this.now()
    const last = this.lastShown.get(event.docId)
    if (last !== undefined && now - last < (this.deps.quietMs ?? 60_000)) return
    this.lastShown.set(event.docId, now)
    if (this.lastShown.size > 1000) this.lastShown.delete(this.lastShown.keys().next().value as string)
    this.deps.notify({ ...notificationText(event), docId: event.docId })
  }

  // Bursts of events become one count, a moment later.
  private scheduleBadge(client: PeerClient): void {
    if (this.badgeTimer) return
    this.badgeTimer = true
    this.setTimer(() => {
      this.badgeTimer = false
      countUnread(client).then(
        (n) => this.deps.setBadge(n),
        (err: Error) => this.deps.log(`could not count unread documents: ${err.message}`),
      )
    }, this.deps.badgeDelayMs ?? 300)
  }
}

/** Unread, not deleted documents across every workspace of this device. */
export async function countUnread(client: PeerClient): Promise<number> {
  const workspaces = await client.request('workspace.list', {})
  const lists = await Promise.all(workspaces.map((w) => client.request('doc.list', { workspaceId: w.id })))
  return lists.flat().filter((d) => d.unread && !d.deleted).length
}
