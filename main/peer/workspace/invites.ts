/**
 * Invite codes: `GV1.` + base64url(CBOR payload), or the same inside `grapevine://join/<code>`.
 * The code carries the workspace id, the inviter's addresses and a one-time 32-byte secret; the
 * inviter keeps only the secret's hash, an expiry, whether it needs approval, and whether it has been
 * used, declined or revoked.
 */
import { timingSafeEqual } from 'node:crypto'
import { GrapevineError } from '../../../shared/protocol.ts'
import { MAX_INVITE_CODE_CHARS, MAX_INVITE_TTL_MS } from '../../../shared/limits.ts'
import type { InviteState } from '../../../shared/types.ts'
import { sha256 } from '../identity/keys.ts'
import type { InviteRow } from '../store/types.ts'
import { decodeMessage, encodeMessage, invitePayload, WireError, type InvitePayload } from '../wire/peer-protocol.ts'

const PREFIX = 'GV1.'
const LINK_PREFIX = 'grapevine://join/'

export function encodeInvite(p: InvitePayload): { code: string; link: string } {
  const code = PREFIX + Buffer.from(encodeMessage(p)).toString('base64url')
  if (code.length > MAX_INVITE_CODE_CHARS)
    throw new GrapevineError('internal', `An invite of ${code.length} characters is over the limit; too many addresses?`)
  return { code, link: LINK_PREFIX + code }
}

/** Parses a pasted code or link. Throws `invite-invalid` or `invite-expired` with a message for people. */
export function decodeInvite(input: string, now = Date.now()): InvitePayload {
  let text = input.trim()
  if (text.length > MAX_INVITE_CODE_CHARS) throw new GrapevineError('invite-invalid', 'That invite code is far too long to be one.')
  if (text.startsWith(LINK_PREFIX)) {
    try {
      text = decodeURIComponent(text.slice(LINK_PREFIX.length).replace(/\/$/, ''))
    } catch {
      throw new GrapevineError('invite-invalid', 'That invite link is damaged; ask for a new one.')
    }
  }
  if (!text.startsWith(PREFIX) || !/^[A-Za-z0-9_-]+$/.test(text.slice(PREFIX.length))) {
    throw new GrapevineError('invite-invalid', 'That is not a Grapevine invite code (it should start with GV1.).')
  }
  let payload: InvitePayload
  try {
    payload = decodeMessage(invitePayload, Buffer.from(text.slice(PREFIX.length), 'base64url'), MAX_INVITE_CODE_CHARS, 'invite')
  } catch (err) {
    if (err instanceof WireError)
      throw new GrapevineError('invite-invalid', 'That invite code is damaged or incomplete; ask for a new one.')
    throw err
  }
  if (payload.exp <= now) {
    throw new GrapevineError('invite-expired', `That invite expired at ${new Date(payload.exp).toISOString()}; ask for a new one.`)
  }
  return payload
}

export function secretHash(secret: Uint8Array): Buffer {
  return sha256(secret)
}

/**
 * When an invite stops working: its own expiry, and never later than MAX_INVITE_TTL_MS after it was
 * made (an invite made when longer ones were allowed is held to today's cap).
 */
export function inviteExpiry(row: InviteRow): number {
  return Math.min(row.expiresAt, row.createdAt + MAX_INVITE_TTL_MS)
}

/** Where an invite stands; what closed it first wins (the store lets only one of used, declined, revoked happen). */
export function inviteState(row: InviteRow, now: number): InviteState {
  if (row.usedAt !== null) return 'used'
  if (row.declinedAt !== null) return 'declined'
  if (row.revokedAt !== null) return 'revoked'
  return inviteExpiry(row) <= now ? 'expired' : 'open'
}

/**
 * Why an invite presented over the join protocol is refused, or null when it may be used. Nothing
 * about its state is said to someone without its secret. A declined or revoked invite is refused as
 * `invite-used` (the codes the join protocol carries), with its own reason.
 */
export function checkInvite(
  row: InviteRow | undefined,
  workspaceId: string,
  secret: Uint8Array,
  now: number,
): null | { code: 'invite-invalid' | 'invite-expired' | 'invite-used'; reason: string } {
  if (!row || row.workspaceId !== workspaceId || !timingSafeEqual(Buffer.from(row.secretHash), secretHash(secret))) {
    return { code: 'invite-invalid', reason: 'This invite is not known to the inviter.' }
  }
  switch (inviteState(row, now)) {
    case 'used':
      return { code: 'invite-used', reason: 'This invite has been used already; ask for a new one.' }
    case 'declined':
      return { code: 'invite-used', reason: 'A join with this invite was declined, so it works no more; ask for a new one.' }
    case 'revoked':
      return { code: 'invite-used', reason: 'This invite was revoked by the inviter; ask for a new one.' }
    case 'expired':
      return { code: 'invite-expired', reason: 'This invite has expired; ask for a new one.' }
    case 'open':
      return null
  }
}
