/**
 * Messages from the Electron shell (via the preload) other than the port: menu commands, invite
 * links opened from the OS, and the peer's restarts. Anything else that reaches the window — from
 * an extension, a frame, or a typo — is ignored.
 */

export const MENU_COMMANDS = ['new-document', 'command-palette', 'invite', 'network', 'find'] as const
export type MenuCommand = (typeof MENU_COMMANDS)[number]

/** The peer's state as the shell reports it ('restarted' is an older name for 'ready'). */
export const PEER_STATUSES = ['starting', 'ready', 'restarting', 'restarted', 'failed'] as const
export type PeerStatus = (typeof PEER_STATUSES)[number]

export type ShellMessage =
  | { kind: 'menu'; command: MenuCommand }
  | { kind: 'open-invite'; link: string }
  /** The person clicked a notification about this document. */
  | { kind: 'open-document'; docId: string }
  | { kind: 'peer-status'; status: PeerStatus }

const MAX_VALUE_CHARS = 4096
const INVITE_LINK = /^grapevine:\/\/join\/[A-Za-z0-9._~%-]+\/?$/

/** The message as a `ShellMessage`, or null when it is not a valid one. */
export function parseShellMessage(data: unknown): ShellMessage | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null
  const { grapevine: type, value } = data as { grapevine?: unknown; value?: unknown }
  if (typeof value !== 'string' || value.length > MAX_VALUE_CHARS) return null
  switch (type) {
    case 'menu':
      return (MENU_COMMANDS as readonly string[]).includes(value) ? { kind: 'menu', command: value as MenuCommand } : null
    case 'open-invite':
      return INVITE_LINK.test(value.trim()) ? { kind: 'open-invite', link: value.trim() } : null
    case 'open-document':
      return /^[A-Za-z0-9_-]{1,128}$/.test(value) ? { kind: 'open-document', docId: value } : null
    case 'peer-status':
      return (PEER_STATUSES as readonly string[]).includes(value) ? { kind: 'peer-status', status: value as PeerStatus } : null
    default:
      return null
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
