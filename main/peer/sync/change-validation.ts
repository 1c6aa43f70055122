/**
 * The one gate every change passes before it reaches a document, whatever its path (a client,
 * gossip, catch-up): signature, the author's role in the membership state the change names,
 * Automerge decoding, actor ownership.
 *
 * Each change carries `m`, the heads of the membership op graph its author had when signing, inside
 * the signature. It is judged by the author's role in the state at `m` (the ops in the causal past of
 * `m`, each counted as this peer now resolves it), so a later removal or demotion never invalidates
 * it; a change whose `m` names ops not here yet waits for them. Removal wins: a change whose `m` does
 * not include a revocation of its author's write right (a removal, a leave, a demotion to viewer) that
 * took effect is concurrent with it, and is accepted only if endorsed: if a change that is valid on
 * its own, by someone else, has it in its causal past (its Automerge deps). A peer that learns of a
 * revocation endorses, with an empty change, every document in which the revoked device wrote: it
 * vouches for what it had accepted (`Documents`). Held changes are kept aside (`HeldChanges`).
 *
 * Exactly what that guarantees about a removed (or demoted) member R:
 * - Its history stays valid everywhere, for members who join later too: whatever any member held
 *   when it learned of the revocation is endorsed, and every change built on it by others is.
 * - Its changes are refused by every peer that knows of the revocation when they arrive, whatever
 *   `m` they claim, including a peer that learns of it only after a partition heals, unless a member
 *   held them before it learned (it could not tell; its endorsement then keeps them, on every peer).
 *   A signature cannot tell "new" from "old but unseen": R can always claim an old `m` and old deps,
 *   so "new" here means "no member had it when it learned of the revocation".
 * - Limits: a colluding member can endorse anything R signs; a peer that took R's changes before it
 *   learned, kept them queued (missing deps) and did not have them in its heads when endorsing, may
 *   hold them alone; a crash between learning a revocation and the endorsement being durable leaves
 *   the endorsing to the other members who held R's changes.
 *
 * Changes of an older version (no `m`, the v1 signature) are judged by the author's current role,
 * as before, and like a revoked author's otherwise.
 */
import * as A from '@automerge/automerge'
import { MAX_CHANGE_BYTES } from '../../../shared/limits.ts'
import { actorBelongsTo, sha256, signPayload, verifyPayload } from '../identity/keys.ts'
import type { Device } from '../identity/device.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import type { ChangeJudge } from '../workspace/workspaces.ts'

export interface ValidChange {
  hash: string
  actor: string
  author: string
  signature: Uint8Array
  bytes: Uint8Array
  time: number
  /** The membership heads its author signed it under (hex); null: an older version's change. */
  m: string[] | null
}
export type Rejection = {
  reason: 'not-member' | 'read-only' | 'revoked' | 'unknown-membership' | 'bad-signature' | 'bad-change' | 'foreign-actor' | 'too-large'
  detail: string
  /**
   * Set when the change is authentic (signature, actor) and only the membership check failed
   * ('not-member', 'read-only', 'revoked': valid if endorsed) or could not be made yet
   * ('unknown-membership': its `m` names ops not here).
   */
  held?: { change: ValidChange; deps: string[] }
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** v1 (no `m`): what older versions signed; v2 binds the membership heads too. */
function payload(ws: string, doc: string, bytes: Uint8Array, m: Uint8Array[] | undefined): Buffer {
  if (m === undefined) return Buffer.concat([Buffer.from(`grapevine/change/1\n${ws}\n${doc}\n`), sha256(bytes)])
  return Buffer.concat([Buffer.from(`grapevine/change/2\n${ws}\n${doc}\n`), Buffer.from([m.length]), ...m, sha256(bytes)])
}

/**
 * Signs a change under the membership heads `m` (hex, as `Workspaces.heads` gives them). Without `m`
 * it makes an older version's (v1) envelope, which is judged by the author's current role: tests use it.
 */
export function signChange(device: Device, ws: string, doc: string, bytes: Uint8Array, m?: readonly string[]): SignedChange {
  const heads = m?.map((h) => Buffer.from(h, 'hex'))
  const item: SignedChange = { a: device.deviceId, s: signPayload(device.signingKey, payload(ws, doc, bytes, heads)), c: bytes }
  if (heads) item.m = heads
  return item
}

/** Cheap checks first (size, membership), then the signature, then the Automerge decode (actor, hash). */
export function validateChange(ws: string, doc: string, item: SignedChange, judge: ChangeJudge): ValidChange | Rejection {
  if (item.c.byteLength > MAX_CHANGE_BYTES) return { reason: 'too-large', detail: `change of ${item.c.byteLength} bytes` }
  const m = item.m?.map(hexOf) ?? null
  const verdict = judge(item.a, m)
  if (!verifyPayload(item.a, payload(ws, doc, item.c, item.m), item.s)) {
    // A non-member's junk is refused as such, as it always was; either way nothing of it is kept.
    if (!verdict.ok && 'reason' in verdict) return { reason: verdict.reason, detail: verdict.detail }
    return { reason: 'bad-signature', detail: `signature by ${item.a} does not verify` }
  }
  let decoded: A.DecodedChange
  try {
    decoded = A.decodeChange(item.c)
  } catch (err) {
    return { reason: 'bad-change', detail: `not an Automerge change (${(err as Error).message})` }
  }
  if (!actorBelongsTo(decoded.actor, item.a)) {
    return { reason: 'foreign-actor', detail: `actor ${decoded.actor} does not belong to signer ${item.a}` }
  }
  const change: ValidChange = {
    hash: decoded.hash,
    actor: decoded.actor,
    author: item.a,
    signature: item.s,
    bytes: item.c,
    time: decoded.time,
    m,
  }
  if (verdict.ok) return change
  if ('wait' in verdict) {
    return {
      reason: 'unknown-membership',
      detail: `names membership ops not here yet (${verdict.wait.map((h) => h.slice(0, 12)).join(', ')})`,
      held: { change, deps: decoded.deps },
    }
  }
  return { reason: verdict.reason, detail: verdict.detail, held: { change, deps: decoded.deps } }
}

export function isRejection(v: ValidChange | Rejection): v is Rejection {
  return 'reason' in v
}
