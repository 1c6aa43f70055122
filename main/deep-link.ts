/**
 * grapevine:// links come from anywhere (a web page, a chat message, another program's argv), so a
 * link is untrusted input: capped, matched against the one shape we accept, and only then passed
 * to the renderer, which asks the peer to validate the invite inside it (`invite.inspect`).
 */
import { MAX_INVITE_CODE_CHARS } from '../shared/limits.ts'

export const PROTOCOL_SCHEME = 'grapevine'
export const INVITE_PREFIX = `${PROTOCOL_SCHEME}://join/`

// An invite code is base64url with a version tag (`GV1.`); links may percent-encode it.
const INVITE_LINK = /^grapevine:\/\/join\/[A-Za-z0-9._~%-]+\/?$/

/** The invite link in `raw`, normalised, or null if it is not exactly one. */
export function parseInviteLink(raw: unknown): string | null {
  // The peer refuses codes over this length anyway; checking first keeps a huge argv cheap.
  if (typeof raw !== 'string' || raw.length > MAX_INVITE_CODE_CHARS) return null
  const trimmed = raw.trim()
  // Schemes are case-insensitive; some launchers pass `Grapevine://`.
  const link = trimmed.slice(0, INVITE_PREFIX.length).toLowerCase() + trimmed.slice(INVITE_PREFIX.length)
  if (!INVITE_LINK.test(link)) return null
  try {
    const u = new URL(link)
    if (u.protocol !== `${PROTOCOL_SCHEME}:` || u.host !== 'join' || u.search !== '' || u.hash !== '') return null
  } catch {
    return null
  }
  return link.endsWith('/') ? link.slice(0, -1) : link
}

/**
 * The link a second instance (Windows, Linux) was started with. The OS passes it as one argument;
 * Chromium may add switches around it, so look at every argument, but take only the first link.
 */
export function inviteLinkFromArgv(argv: unknown): string | null {
  if (!Array.isArray(argv)) return null
  for (const arg of argv.slice(0, 64)) {
    if (typeof arg === 'string' && arg.slice(0, PROTOCOL_SCHEME.length + 3).toLowerCase() === `${PROTOCOL_SCHEME}://`) {
      return parseInviteLink(arg)
    }
  }
  return null
}

/** The link a second instance passed as `additionalData` to `requestSingleInstanceLock`. */
export function inviteLinkFromAdditionalData(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return null
  return parseInviteLink((data as { inviteLink?: unknown }).inviteLink)
}

/**
 * Holds the latest invite until a window can take it: a link that starts the app arrives long
 * before any page is ready to show it.
 */
export class InviteRouter {
  private pendingLink: string | null = null
  private readonly deliver: (link: string) => boolean

  /** `deliver` returns false when no window is ready yet. */
  constructor(deliver: (link: string) => boolean) {
    this.deliver = deliver
  }

  /** Validates and routes a raw link; returns the link accepted, or null if it was refused. */
  offer(raw: unknown): string | null {
    const link = parseInviteLink(raw)
    if (!link) return null
    if (!this.deliver(link)) this.pendingLink = link
    return link
  }

  /** Call when a window becomes ready. */
  flush(): void {
    if (this.pendingLink && this.deliver(this.pendingLink)) this.pendingLink = null
  }

  get pending(): string | null {
    return this.pendingLink
  }
}
