/**
 * The one gate every change passes before it reaches a document, whatever its path (a client,
 * gossip, catch-up): signature, author's role, Automerge decoding, actor ownership.
 */
import * as A from '@automerge/automerge'
import { WRITER_ROLES, type Role } from '../../../shared/types.ts'
import { MAX_CHANGE_BYTES } from '../../../shared/limits.ts'
import { actorBelongsTo, sha256, signPayload, verifyPayload } from '../identity/keys.ts'
import type { Device } from '../identity/device.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'

export interface ValidChange {
  hash: string
  actor: string
  author: string
  signature: Uint8Array
  bytes: Uint8Array
  time: number
}
export type Rejection = {
  reason: 'not-member' | 'read-only' | 'bad-signature' | 'bad-change' | 'foreign-actor' | 'too-large'
  detail: string
}

const payload = (ws: string, doc: string, bytes: Uint8Array): Buffer =>
  Buffer.concat([Buffer.from(`grapevine/change/1\n${ws}\n${doc}\n`), sha256(bytes)])

export function signChange(device: Device, ws: string, doc: string, bytes: Uint8Array): SignedChange {
  return { a: device.deviceId, s: signPayload(device.signingKey, payload(ws, doc, bytes)), c: bytes }
}

/** Cheap checks first (size, role, signature), then the Automerge decode (actor, hash). */
export function validateChange(
  ws: string,
  doc: string,
  item: SignedChange,
  roleOf: (deviceId: string) => Role | undefined,
): ValidChange | Rejection {
  if (item.c.byteLength > MAX_CHANGE_BYTES) return { reason: 'too-large', detail: `change of ${item.c.byteLength} bytes` }
  const role = roleOf(item.a)
  if (role === undefined) return { reason: 'not-member', detail: `${item.a} is not a member of workspace ${ws}` }
  if (!WRITER_ROLES.includes(role)) return { reason: 'read-only', detail: `${item.a} is a ${role} and may not write` }
  if (!verifyPayload(item.a, payload(ws, doc, item.c), item.s))
    return { reason: 'bad-signature', detail: `signature by ${item.a} does not verify` }
  let decoded: A.DecodedChange
  try {
    decoded = A.decodeChange(item.c)
  } catch (err) {
    return { reason: 'bad-change', detail: `not an Automerge change (${(err as Error).message})` }
  }
  if (!actorBelongsTo(decoded.actor, item.a)) {
    return { reason: 'foreign-actor', detail: `actor ${decoded.actor} does not belong to signer ${item.a}` }
  }
  return { hash: decoded.hash, actor: decoded.actor, author: item.a, signature: item.s, bytes: item.c, time: decoded.time }
}

export function isRejection(v: ValidChange | Rejection): v is Rejection {
  return 'reason' in v
}
