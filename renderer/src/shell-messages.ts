/**
 * Messages from the Electron shell (via the preload) other than the port: menu commands, invite
 * links opened from the OS, and the peer's restarts. Anything else that reaches the window — from
 * an extension, a frame, or a typo — is ignored.
 */

export const MENU_COMMANDS = ['new-document', 'command-palette', 'invite', 'network', 'find'] as const
export type MenuCommand = (typeof MENU_COMMANDS)[number]

export type ShellMessage =
  | { kind: 'menu'; command: MenuCommand }
  | { kind: 'open-invite'; link: string }
  | { kind: 'peer-status'; status: 'restarting' | 'restarted' }

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
    case 'peer-status':
      return value === 'restarting' || value === 'restarted' ? { kind: 'peer-status', status: value } : null
    default:
      return null
  }
}

/** Calls `onMessage` for each valid shell message posted to this window by the preload. */
export function listenForShellMessages(win: Window, onMessage: (m: ShellMessage) => void): () => void {
  const listener = (e: MessageEvent): void => {
    if (e.source !== win) return
    const m = parseShellMessage(e.data)
    if (m) onMessage(m)
  }
  win.addEventListener('message', listener)
  return () => win.removeEventListener('message', listener)
}
