/**
 * The bridge's contract: the IPC channels between main and the preload, and the messages the
 * preload posts to the page. Pure data and checks (no Electron, no DOM), imported by main, the preload
 * and the page.
 *
 * From the page, the same way: `'grapevine:ports-again'` (`PORTS_AGAIN_MESSAGE`), fresh ports wanted.
 *
 * To the page (window 'message' events from its own window and origin):
 *   - `'grapevine:port'` with `ports[0]` and `ports[1]`: MessagePorts to the peer (client protocol,
 *     shared/rpc.ts), the page's and its editor worker's. New ones arrive after every peer restart; the
 *     previous ones are then dead.
 *   - `{ grapevine: kind, value }` (`BridgeNotice`): a menu command, an invite link to open, a
 *     notification clicked, or the peer's status.
 */

/** The app's pages' origin (main/app-url.ts serves them); the preload acts on no other page. */
export const APP_ORIGIN = 'app://grapevine'

/** main → preload: one MessagePort in `ports`. */
export const PORT_CHANNEL = 'grapevine:port'
/** main → preload: one `BridgeNotice`. */
export const NOTICE_CHANNEL = 'grapevine:notice'
/** preload → main: the page has loaded and can take a port, or wants fresh ones. The only message main accepts. */
export const HELLO_CHANNEL = 'grapevine:hello'
/** What the page receives as `event.data` together with the port. */
export const PORT_MESSAGE = 'grapevine:port'
/**
 * page → preload (a window 'message' to its own origin): one of its ports closed while the peer kept
 * running (the peer ended that session alone); the preload says hello again, and main hands the page
 * fresh ports (main/peer-ports.ts, at most once per REHELLO_MS).
 */
export const PORTS_AGAIN_MESSAGE = 'grapevine:ports-again'

/** Menu commands the page acts on. */
export const MENU_COMMANDS = [
  'new-document',
  'new-board',
  'my-tasks',
  'command-palette',
  'invite',
  'network',
  'find',
  'search',
  'history',
  'import',
  'export',
] as const
export type MenuCommand = (typeof MENU_COMMANDS)[number]

/** The peer's state as the page should show it. */
export const PEER_STATUSES = ['starting', 'ready', 'restarting', 'failed'] as const
export type PeerStatus = (typeof PEER_STATUSES)[number]

export type BridgeNotice =
  | { grapevine: 'menu'; value: MenuCommand }
  /** A `grapevine://join/…` link, already checked for shape; the peer validates the invite. */
  | { grapevine: 'open-invite'; value: string }
  /** A document id: the person clicked the notification about it. */
  | { grapevine: 'open-document'; value: string }
  | { grapevine: 'peer-status'; value: PeerStatus }

const MAX_VALUE_CHARS = 4096
const INVITE_LINK = /^grapevine:\/\/join\/[A-Za-z0-9._~%-]+\/?$/

/** The notice, with only its two fields, or null if it is not a valid one. */
export function toNotice(raw: unknown): BridgeNotice | null {
  if (typeof raw !== 'object' || raw === null) return null
  const { grapevine: kind, value } = raw as { grapevine?: unknown; value?: unknown }
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_CHARS) return null
  switch (kind) {
    case 'menu':
      return (MENU_COMMANDS as readonly string[]).includes(value) ? { grapevine: kind, value: value as MenuCommand } : null
    case 'peer-status':
      return (PEER_STATUSES as readonly string[]).includes(value) ? { grapevine: kind, value: value as PeerStatus } : null
    case 'open-invite':
      return INVITE_LINK.test(value.trim()) ? { grapevine: kind, value: value.trim() } : null
    case 'open-document':
      return /^[A-Za-z0-9_-]{1,128}$/.test(value) ? { grapevine: kind, value } : null
    default:
      return null
  }
}
