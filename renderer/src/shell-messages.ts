/**
 * Messages from the Electron shell (via the preload) other than the port: menu commands, invite
 * links opened from the OS, and the peer's restarts. Anything else that reaches the window — from
 * an extension, a frame, or a typo — is ignored.
 */

import { toNotice, type MenuCommand, type PeerStatus } from '../../shared/desktop-bridge.ts'

export type { MenuCommand, PeerStatus } from '../../shared/desktop-bridge.ts'

export type ShellMessage =
  | { kind: 'menu'; command: MenuCommand }
  | { kind: 'open-invite'; link: string }
  /** The person clicked a notification about this document. */
  | { kind: 'open-document'; docId: string }
  | { kind: 'peer-status'; status: PeerStatus }

/** The message as a `ShellMessage`, or null when it is not a valid one (the bridge's own check, shared with the preload). */
export function parseShellMessage(data: unknown): ShellMessage | null {
  if (Array.isArray(data)) return null
  const n = toNotice(data)
  if (!n) return null
  switch (n.grapevine) {
    case 'menu':
      return { kind: 'menu', command: n.value }
    case 'open-invite':
      return { kind: 'open-invite', link: n.value.trim() }
    case 'open-document':
      return { kind: 'open-document', docId: n.value }
    case 'peer-status':
      return { kind: 'peer-status', status: n.value }
  }
}

/** Calls `onMessage` for each valid shell message posted to this window by the preload. */
export function listenForShellMessages(win: Window, onMessage: (m: ShellMessage) => void): () => void {
  const listener = (e: MessageEvent): void => {
    // Only what this window's own preload posted (same window, same origin).
    if (e.source !== win || e.origin !== win.location.origin) return
    const m = parseShellMessage(e.data)
    if (m) onMessage(m)
  }
  win.addEventListener('message', listener)
  return () => win.removeEventListener('message', listener)
}

/**
 * Shell messages from boot on, held until someone subscribes (an invite link that launched the app
 * may arrive before the UI has rendered).
 */
export function bufferShellMessages(win: Window): { subscribe(fn: (m: ShellMessage) => void): () => void } {
  const held: ShellMessage[] = []
  const subscribers = new Set<(m: ShellMessage) => void>()
  listenForShellMessages(win, (m) => {
    if (subscribers.size === 0) held.push(m)
    for (const fn of [...subscribers]) fn(m)
  })
  return {
    subscribe(fn) {
      subscribers.add(fn)
      for (const m of held.splice(0)) fn(m)
      return () => void subscribers.delete(fn)
    },
  }
}
