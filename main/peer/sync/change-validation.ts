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
 *
 * Sealed changes (v3): the signature covers the sealed bytes and the metadata in clear beside them
 * (epoch, Automerge hash, deps, `m`), so size, membership and signature are checked before anything
 * is decrypted, by a keeper too. Then the change is opened with the epoch's key (bound to workspace,
 * document, kind and author), read (decoded, or a large one's header: change-read.ts), and its hash,
 * deps and actor must be what the envelope says.
 *
 * Runs (v4, sync/runs.ts): `n` consecutive changes of one author, each building on the one before,
 * sealed together as one Automerge bundle and signed once. The envelope says the last change's hash
 * and the first one's deps; once opened, the bundle must hold exactly `n` changes, chained so, ending
 * at that hash, every one by an actor of the signer. A run is judged and stored as one unit.
 *
 * Covers (v5, sync/covers.ts): `n` changes of one author that were sent alone before, sealed together
 * and signed once like a run, with every covered change's hash and deps in clear beside them (`k`, `kd`),
 * signed with the rest. A keeper checks their shape; a reader also opens the bundle and finds exactly
 * those changes there, each by an actor of the signer.
 */
import * as A from '@automerge/automerge'
import { MAX_CHANGE_BYTES } from '../../../shared/limits.ts'
import { actorBelongsTo, sha256, signPayload, verifyPayload } from '../identity/keys.ts'
import type { Device } from '../identity/device.ts'
import type { EpochKey } from '../crypto/epoch.ts'
import { CryptoError } from '../crypto/errors.ts'
import { openContent, sealContent } from '../crypto/seal.ts'
import { effectsOf, type OpsEffect } from './change-effect.ts'
import { coverDigest, CoverFormatError, coveredChanges, encodeCoverDeps, openedCover, type CoveredChange } from './covers.ts'
import { ChangeFormatError, readChange, type ChangeRead } from './change-read.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import type { CoverRecord } from '../store/types.ts'
import type { ChangeJudge } from '../workspace/workspaces.ts'

export interface ValidChange {
  hash: string
  /** The Automerge actor; '' while the change is sealed and unopened (a keeper's). */
  actor: string
  author: string
  signature: Uint8Array
  /** What the signature covers, stored and passed on as is: sealed (when `epoch` is set) or an older version's clear change. */
  bytes: Uint8Array
  /** The Automerge change; null while it is sealed and unopened (a keeper never opens it). */
  plain: Uint8Array | null
  /** The epoch it is sealed under (hex); null: an older version's change, in clear. */
  epoch: string | null
  /** Its Automerge deps (hex). */
  deps: string[]
  /** Seconds, as Automerge has it; 0 while unopened. */
  time: number
  /** No operations: an endorsement of history (documents.ts `endorse`), not an edit. False while unopened. */
  empty: boolean
  /** The membership heads its author signed it under (hex); null: an older version's change. */
  m: string[] | null
  /**
   * How many changes it holds: 1, or more for a run, whose `hash` is its last change's, `deps` its first
   * one's, and `plain` an Automerge bundle (load it with `A.loadIncremental`, not `A.applyChanges`).
   */
  n: number
  /**
   * The one Automerge object all its operations edit, when it was decoded and they edit one (a
   * keystroke edits the text): such a change may wait to be applied (doc-cache.ts `Loaded.defer`).
   */
  target?: string
  /**
   * What its changes do, by hash, as their decode here said (change-effect.ts `opsEffect`): history
   * counts them from this instead of decoding them again. Absent when not decoded (unopened).
   */
  effects?: (readonly [hash: string, effect: OpsEffect])[]
  /** A run this device sealed from changes it had one by one (a client's): them, in order, for clients, which take changes, not bundles. */
  parts?: Uint8Array[]
  /**
   * A cover (covers.ts): every change it holds, in the bundle's order, with its deps; `hash` is the last
   * one's and `deps` the deps outside the cover.
   */
  covered?: CoveredChange[]
  /** A cover's `k` and `kd` as signed, kept as they came: what is stored and sent on (`covered` is read from them). */
  coverWire?: { k: Uint8Array; kd: Uint8Array }
}
export type Rejection = {
  reason:
    | 'not-member'
    | 'read-only'
    | 'revoked'
    | 'unknown-membership'
    | 'no-key'
    | 'bad-signature'
    | 'bad-change'
    | 'foreign-actor'
    | 'too-large'
  detail: string
  /**
   * Set when the change is authentic (signature, actor) and only the membership check failed
   * ('not-member', 'read-only', 'revoked': valid if endorsed) or could not be made yet
   * ('unknown-membership': its `m` names ops not here; 'no-key': its epoch's key is not here yet).
   */
  held?: { change: ValidChange; deps: string[] }
}

/** The key of an epoch (hex id) of the workspace, if this device holds it. */
export type KeyLookup = (epochId: string) => EpochKey | null

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
const bytesOf = (hex: string): Buffer => Buffer.from(hex, 'hex')

/** v1 (no `m`): what older versions signed; v2 binds the membership heads too. */
function payload(ws: string, doc: string, bytes: Uint8Array, m: Uint8Array[] | undefined): Buffer {
  if (m === undefined) return Buffer.concat([Buffer.from(`grapevine/change/1\n${ws}\n${doc}\n`), sha256(bytes)])
  return Buffer.concat([Buffer.from(`grapevine/change/2\n${ws}\n${doc}\n`), Buffer.from([m.length]), ...m, sha256(bytes)])
}

/**
 * v3: the sealed bytes and every field in clear beside them. Counts are prefixed, hashes fixed-size.
 * v4, a run (`n` given): the same fields under its own prefix, the number of changes before the deps.
 * v5, a cover (`cover` given too): a run's fields under its own prefix, and the digest of `k` and `kd`.
 */
function sealedPayload(ws: string, doc: string, item: SealedFields, n?: number, cover?: { k: Uint8Array; kd: Uint8Array }): Buffer {
  const counts = Buffer.alloc(n === undefined ? 2 : 6)
  if (n !== undefined) counts.writeUInt32BE(n, 0)
  counts.writeUInt16BE(item.d.length, n === undefined ? 0 : 4)
  const prefix = cover ? 'grapevine/cover/5' : n === undefined ? 'grapevine/change/3' : 'grapevine/run/4'
  return Buffer.concat([
    Buffer.from(`${prefix}\n${ws}\n${doc}\n`),
    item.e,
    item.h,
    counts,
    ...item.d,
    Buffer.from([item.m.length]),
    ...item.m,
    ...(cover ? [coverDigest(cover.k, cover.kd)] : []),
    sha256(item.c),
  ])
}

/**
 * Signs an older version's envelope (clear bytes; without `m` the v1 signature, judged by the
 * author's current role). This version never sends one: tests use it to stand for old history.
 */
export function signChange(device: Device, ws: string, doc: string, bytes: Uint8Array, m?: readonly string[]): SignedChange {
  const heads = m?.map((h) => bytesOf(h))
  const item: SignedChange = { a: device.deviceId, s: signPayload(device.signingKey, payload(ws, doc, bytes, heads)), c: bytes }
  if (heads) item.m = heads
  return item
}

type SealedFields = Required<Pick<SignedChange, 'e' | 'h' | 'd' | 'm' | 'c'>>
type RunFields = SealedFields & { n: number }

/** Signs a run's fields as they are (tests use it to make runs that lie). */
export function signRun(device: Device, ws: string, doc: string, fields: RunFields): SignedChange {
  return { a: device.deviceId, s: signPayload(device.signingKey, sealedPayload(ws, doc, fields, fields.n)), ...fields }
}

/** What the author knows of the changes of a run it seals: they come from its own document. */
export interface RunChanges {
  /** The Automerge bundle of the changes (`A.saveBundle`). */
  bundle: Uint8Array
  hashes: string[]
  /** The first change's deps. */
  deps: string[]
  /** The last change's Automerge actor and time (s). */
  actor: string
  time: number
  /** No operations in any of them. */
  empty: boolean
}

/** Seals and signs a run of this device's changes under `epoch`, with the membership heads `m` it is judged by. */
export function sealRun(
  device: Device,
  epoch: EpochKey,
  ws: string,
  doc: string,
  run: RunChanges,
  m: readonly string[],
): { item: SignedChange; change: ValidChange } {
  const c = sealContent(epoch, run.bundle, { kind: 'run', subject: doc, author: device.deviceId })
  const hash = run.hashes.at(-1)!
  const item = signRun(device, ws, doc, {
    e: bytesOf(epoch.epochId),
    h: bytesOf(hash),
    d: run.deps.map(bytesOf),
    m: m.map(bytesOf),
    c,
    n: run.hashes.length,
  })
  const change: ValidChange = {
    hash,
    actor: run.actor,
    author: device.deviceId,
    signature: item.s,
    bytes: c,
    plain: run.bundle,
    epoch: epoch.epochId,
    deps: run.deps,
    time: run.time,
    empty: run.empty,
    m: [...m],
    n: run.hashes.length,
  }
  return { item, change }
}

type CoverFields = RunFields & { k: Uint8Array; kd: Uint8Array }

/** Signs a cover's fields as they are (tests use it to make covers that lie). */
export function signCover(device: Device, ws: string, doc: string, fields: CoverFields): SignedChange {
  return { a: device.deviceId, s: signPayload(device.signingKey, sealedPayload(ws, doc, fields, fields.n, fields)), ...fields }
}

/** What the author knows of the changes it covers: they come from its own document. */
export interface CoverChanges {
  /** The Automerge bundle of the changes (`A.saveBundle`), in the order of `changes`. */
  bundle: Uint8Array
  /** Each change's hash and deps, in an order in which each comes after those of its deps it covers. */
  changes: CoveredChange[]
  /** The last change's Automerge actor and time (s). */
  actor: string
  time: number
  /** No operations in any of them. */
  empty: boolean
}

/** Seals and signs a cover of this device's changes under `epoch`, with the membership heads `m` it is judged by. */
export function sealCover(
  device: Device,
  epoch: EpochKey,
  ws: string,
  doc: string,
  cover: CoverChanges,
  m: readonly string[],
): { item: SignedChange; change: ValidChange } {
  const { kd, external } = encodeCoverDeps(cover.changes)
  const c = sealContent(epoch, cover.bundle, { kind: 'cover', subject: doc, author: device.deviceId })
  const hash = cover.changes.at(-1)!.hash
  const item = signCover(device, ws, doc, {
    e: bytesOf(epoch.epochId),
    h: bytesOf(hash),
    d: external.map(bytesOf),
    m: m.map(bytesOf),
    c,
    n: cover.changes.length,
    k: Buffer.concat(cover.changes.map((x) => bytesOf(x.hash))),
    kd,
  })
  const change: ValidChange = {
    hash,
    actor: cover.actor,
    author: device.deviceId,
    signature: item.s,
    bytes: c,
    plain: cover.bundle,
    epoch: epoch.epochId,
    deps: external,
    time: cover.time,
    empty: cover.empty,
    m: [...m],
    n: cover.changes.length,
    covered: cover.changes,
    coverWire: { k: item.k!, kd: item.kd! },
  }
  return { item, change }
}

/** Signs a sealed envelope's fields as they are (tests use it to make envelopes that lie). */
export function signSealed(device: Device, ws: string, doc: string, fields: SealedFields): SignedChange {
  return { a: device.deviceId, s: signPayload(device.signingKey, sealedPayload(ws, doc, fields)), ...fields }
}

/**
 * Seals and signs one of this device's changes under `epoch`, with the membership heads `m` it is
 * judged by. Returns the envelope and the change as it is stored (sealed) and applied (plain).
 */
export function sealChange(
  device: Device,
  epoch: EpochKey,
  ws: string,
  doc: string,
  plain: Uint8Array,
  m: readonly string[],
  read: ChangeRead = readChange(plain),
): { item: SignedChange; change: ValidChange } {
  const c = sealContent(epoch, plain, { kind: 'change', subject: doc, author: device.deviceId })
  const item = signSealed(device, ws, doc, {
    e: bytesOf(epoch.epochId),
    h: bytesOf(read.hash),
    d: read.deps.map(bytesOf),
    m: m.map(bytesOf),
    c,
  })
  return { item, change: { ...unsignedChange(device, epoch, plain, m, read), signature: item.s, bytes: c } }
}

/**
 * One of this device's changes made with no connection, as it is stored until it is sealed into a run
 * (sync/runs.ts): in clear, with no signature (an empty one), and the epoch and membership heads it will
 * be sealed and signed under. Nobody can receive it meanwhile, and sealing it once in a run, not once
 * alone and again in the run, is what a keystroke made offline costs.
 */
export function unsignedChange(
  device: Device,
  epoch: EpochKey,
  plain: Uint8Array,
  m: readonly string[],
  read: ChangeRead = readChange(plain),
): ValidChange {
  return {
    hash: read.hash,
    actor: read.actor,
    author: device.deviceId,
    signature: NO_SIGNATURE,
    bytes: plain,
    plain,
    epoch: epoch.epochId,
    deps: read.deps,
    time: read.time,
    empty: read.empty,
    m: [...m],
    n: 1,
    ...readFacts(read),
  }
}

const NO_SIGNATURE = new Uint8Array(0)

/**
 * Whether a stored change is one of this device's, unsigned and in clear until it is sealed (`unsignedChange`);
 * a row a cover carries (`cover` set: covers.ts) has no signature of its own either, and is not one.
 */
export function isUnsigned(c: { signature: Uint8Array; cover?: number | null }): boolean {
  return c.signature.byteLength === 0 && (c.cover ?? null) === null
}

/** The envelope of a change as stored, to send on: sealed (epoch set) or an older version's. */
export function envelopeOf(
  c: Pick<ValidChange, 'author' | 'signature' | 'bytes' | 'epoch' | 'hash' | 'deps' | 'm'> & { deps: string[] | null; n: number },
): SignedChange {
  const item: SignedChange = { a: c.author, s: c.signature, c: c.bytes }
  if (c.m) item.m = c.m.map(bytesOf)
  if (c.epoch !== null) {
    item.e = bytesOf(c.epoch)
    item.h = bytesOf(c.hash)
    item.d = (c.deps ?? []).map(bytesOf)
  }
  if (c.n > 1) item.n = c.n
  return item
}

/** A stored cover (covers.ts) as it is sent: its envelope as its author signed it; `h` is its last covered hash. */
export function coverEnvelopeOf(c: CoverRecord): SignedChange {
  const n = c.k.byteLength / 32
  return {
    a: c.author,
    s: c.signature,
    c: c.bytes,
    e: bytesOf(c.epoch),
    h: c.k.subarray(32 * (n - 1)),
    d: c.deps.map(bytesOf),
    m: (c.m ?? []).map(bytesOf),
    n,
    k: c.k,
    kd: c.kd,
  }
}

/**
 * Cheap checks first (size, membership), then the signature, then (sealed) opening with the epoch's
 * key, then the Automerge decode (actor, hash, deps). `keyOf` null: this device never reads content
 * (a keeper), so a sealed change is taken unopened once signature and membership hold.
 */
export function validateChange(
  ws: string,
  doc: string,
  item: SignedChange,
  judge: ChangeJudge,
  keyOf: KeyLookup | null,
): ValidChange | Rejection {
  if (item.c.byteLength > MAX_CHANGE_BYTES + 64) return { reason: 'too-large', detail: `change of ${item.c.byteLength} bytes` }
  const m = item.m?.map(hexOf) ?? null
  const verdict = judge(item.a, m)
  const sealed = item.e !== undefined && item.h !== undefined && item.d !== undefined && item.m !== undefined
  const n = item.n ?? 1
  if (n > 1 && !sealed) return { reason: 'bad-change', detail: 'a run that is not sealed' }
  const fields = sealed ? { e: item.e!, h: item.h!, d: item.d!, m: item.m!, c: item.c } : null
  const cover = item.k !== undefined && item.kd !== undefined ? { k: item.k, kd: item.kd } : undefined
  let covered: CoveredChange[] | undefined
  if (cover) {
    // Its shape first: nothing in it is looked at before this holds (sizes, references, no hash twice).
    if (!fields || n < 2) return { reason: 'bad-change', detail: 'a cover that is not a sealed run' }
    try {
      covered = coveredChanges({ ...cover, d: item.d!, h: item.h!, n })
    } catch (err) {
      if (!(err instanceof CoverFormatError)) throw err
      return { reason: 'bad-change', detail: `not a cover: ${err.message}` }
    }
  }
  const signed = fields
    ? verifyPayload(item.a, sealedPayload(ws, doc, fields, n > 1 ? n : undefined, cover), item.s)
    : verifyPayload(item.a, payload(ws, doc, item.c, item.m), item.s)
  if (!signed) {
    // A non-member's junk is refused as such, as it always was; either way nothing of it is kept.
    if (!verdict.ok && 'reason' in verdict) return { reason: verdict.reason, detail: verdict.detail }
    return { reason: 'bad-signature', detail: `signature by ${item.a} does not verify` }
  }
  let change: ValidChange
  if (sealed) {
    const unopened: ValidChange = {
      hash: hexOf(item.h!),
      actor: '',
      author: item.a,
      signature: item.s,
      bytes: item.c,
      plain: null,
      epoch: hexOf(item.e!),
      deps: item.d!.map(hexOf),
      time: 0,
      empty: false,
      m,
      n,
      ...(covered && cover ? { covered, coverWire: cover } : {}),
    }
    if (keyOf === null) change = unopened
    else {
      const key = keyOf(unopened.epoch!)
      if (!key) {
        const held = { change: unopened, deps: unopened.deps }
        return { reason: 'no-key', detail: `sealed under epoch ${unopened.epoch!.slice(0, 12)}, whose key is not here yet`, held }
      }
      const opened = openChange(ws, doc, unopened, key)
      if (isRejection(opened)) return opened
      change = opened
    }
  } else {
    const read = readOrRefuse(item.c)
    if (isRejection(read)) return read
    if (!actorBelongsTo(read.actor, item.a)) {
      return { reason: 'foreign-actor', detail: `actor ${read.actor} does not belong to signer ${item.a}` }
    }
    change = {
      hash: read.hash,
      actor: read.actor,
      author: item.a,
      signature: item.s,
      bytes: item.c,
      plain: item.c,
      epoch: null,
      deps: read.deps,
      time: read.time,
      empty: read.empty,
      m,
      n: 1,
      ...readFacts(read),
    }
  }
  if (verdict.ok) return change
  if ('wait' in verdict) {
    return {
      reason: 'unknown-membership',
      detail: `names membership ops not here yet (${verdict.wait.map((h) => h.slice(0, 12)).join(', ')})`,
      held: { change, deps: change.deps },
    }
  }
  return { reason: verdict.reason, detail: verdict.detail, held: { change, deps: change.deps } }
}

function readOrRefuse(bytes: Uint8Array): ChangeRead | Rejection {
  try {
    return readChange(bytes)
  } catch (err) {
    if (!(err instanceof ChangeFormatError)) throw err
    return { reason: 'bad-change', detail: `not an Automerge change (${err.message})` }
  }
}

/**
 * Opens a sealed change whose signature was checked: with the key of its epoch, for its document and
 * author; then its hash, deps and actor must be what its envelope said.
 */
export function openChange(ws: string, doc: string, change: ValidChange, key: EpochKey): ValidChange | Rejection {
  if (key.workspaceId !== ws || key.epochId !== change.epoch) return { reason: 'no-key', detail: `not the key of epoch ${change.epoch}` }
  let plain: Uint8Array
  try {
    const kind = change.covered ? 'cover' : change.n > 1 ? 'run' : 'change'
    plain = openContent(key, change.bytes, { kind, subject: doc, author: change.author })
  } catch (err) {
    if (err instanceof CryptoError) return { reason: 'bad-change', detail: `does not open under its epoch's key (${err.message})` }
    throw err
  }
  if (change.covered) return openedCover({ ...change, covered: change.covered }, plain)
  if (change.n > 1) return openedRun(change, plain)
  const read = readOrRefuse(plain)
  if (isRejection(read)) return read
  if (read.hash !== change.hash) return { reason: 'bad-change', detail: `its hash is ${read.hash}, not ${change.hash} as signed` }
  if (read.deps.length !== change.deps.length || read.deps.some((d, i) => d !== change.deps[i]))
    return { reason: 'bad-change', detail: 'its deps are not those it was signed with' }
  if (!actorBelongsTo(read.actor, change.author))
    return { reason: 'foreign-actor', detail: `actor ${read.actor} does not belong to signer ${change.author}` }
  return { ...change, plain, actor: read.actor, time: read.time, empty: read.empty, ...readFacts(read) }
}

/** The one object a change's operations all edit, if it was decoded and they edit one, and what they do to it. */
function readFacts(read: ChangeRead): Pick<ValidChange, 'target' | 'effects'> {
  const e = read.effect
  return e ? { target: e.obj, effects: [[read.hash, e]] } : {}
}

/** A run once opened: exactly what its envelope says, a chain of its signer's changes (see the top of this file). */
function openedRun(run: ValidChange, plain: Uint8Array): ValidChange | Rejection {
  let changes: A.DecodedChange[]
  try {
    changes = A.readBundle(plain).changes
  } catch (err) {
    return { reason: 'bad-change', detail: `not an Automerge bundle (${(err as Error).message})` }
  }
  if (changes.length !== run.n) return { reason: 'bad-change', detail: `it holds ${changes.length} changes, not ${run.n} as signed` }
  // A run's changes come from a few actors (one per window): each is checked once.
  const actors = new Map<string, boolean>()
  const belongs = (actor: string): boolean => {
    const known = actors.get(actor)
    if (known !== undefined) return known
    const ok = actorBelongsTo(actor, run.author)
    actors.set(actor, ok)
    return ok
  }
  let empty = true
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!
    const deps = i === 0 ? run.deps : [changes[i - 1]!.hash]
    if (c.deps.length !== deps.length || c.deps.some((d, j) => d !== deps[j]))
      return {
        reason: 'bad-change',
        detail: i === 0 ? 'its first change does not have the deps it was signed with' : `its change ${i} does not build on the one before`,
      }
    if (!belongs(c.actor)) return { reason: 'foreign-actor', detail: `actor ${c.actor} does not belong to signer ${run.author}` }
    if (c.ops.length > 0) empty = false
  }
  const last = changes.at(-1)!
  if (last.hash !== run.hash) return { reason: 'bad-change', detail: `its last change is ${last.hash}, not ${run.hash} as signed` }
  return { ...run, plain, actor: last.actor, time: last.time, empty, effects: effectsOf(changes) }
}

export function isRejection(v: object): v is Rejection {
  return 'reason' in v
}
