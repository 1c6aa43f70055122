/**
 * Covers: several of this device's changes to one document that were sent alone before (typed with a
 * teammate online), sealed together as one Automerge bundle and signed once, so that history typed
 * together travels and is kept as compactly as history typed alone (docs/plans/covers.md).
 *
 * A run (runs.ts) is named by its last change and judged as one unit, which is sound only because nobody
 * can have built on a change inside it. A change that went out alone may have a teammate's change built
 * on it, so a cover says every change it holds in clear: each one's hash (`k`, 32 bytes a change, in the
 * bundle's order) and deps (`kd`: references to an earlier covered change or to one of the cover's
 * external deps, `d`). A keeper, which never opens it, knows each covered change as a node of the
 * history as it knows an envelope's; a reader opens it and finds exactly those changes, with those deps,
 * each by an actor of the signer (`openedCover`), or refuses the whole cover.
 *
 * This file holds the format and its checks; covers are not made or sent yet (the plan's later steps).
 */
import * as A from '@automerge/automerge'
import { MAX_COVER_CHANGES, MAX_HEADS } from '../../../shared/limits.ts'
import { actorBelongsTo, sha256 } from '../identity/keys.ts'
import { effectsOf } from './change-effect.ts'
import type { Rejection, ValidChange } from './change-validation.ts'

/** One covered change as the cover says it: its hash and its deps (hex). */
export interface CoveredChange {
  hash: string
  deps: string[]
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

function writeVarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
}

/**
 * The covered changes' deps as `kd` says them, and the cover's external deps (`d`, in order of first
 * mention): for each change `i`, the number of its deps, then each dep as an unsigned LEB128 reference:
 * an earlier covered change `j` is `2 × (i − 1 − j)` (the change just before is 0), the external dep `x`
 * is `2 × x + 1`. A keystroke building on the one before costs two bytes.
 */
export function encodeCoverDeps(changes: readonly CoveredChange[]): { kd: Uint8Array; external: string[] } {
  const at = new Map<string, number>()
  const externalAt = new Map<string, number>()
  const external: string[] = []
  const out: number[] = []
  changes.forEach((c, i) => {
    writeVarint(out, c.deps.length)
    for (const d of c.deps) {
      const j = at.get(d)
      if (j !== undefined) writeVarint(out, 2 * (i - 1 - j))
      else {
        let x = externalAt.get(d)
        if (x === undefined) {
          x = external.length
          external.push(d)
          externalAt.set(d, x)
        }
        writeVarint(out, 2 * x + 1)
      }
    }
    at.set(c.hash, i)
  })
  return { kd: Uint8Array.from(out), external }
}

/** Why a cover's structure (`k`, `kd`, `d`, `h`) is not one; thrown by `coveredChanges`. */
export class CoverFormatError extends Error {}

/**
 * The covered changes a cover's fields say, checked for shape without opening anything: `n` hashes,
 * none twice and none among the external deps, each change's deps naming an earlier covered change or an
 * external dep, every external dep named, no change with more than MAX_HEADS deps or one dep twice, the
 * last hash `h`, and nothing left over in `kd`.
 */
export function coveredChanges(fields: {
  k: Uint8Array
  kd: Uint8Array
  d: readonly Uint8Array[]
  h: Uint8Array
  n: number
}): CoveredChange[] {
  const { k, kd, d, n } = fields
  if (n < 2 || n > MAX_COVER_CHANGES) throw new CoverFormatError(`a cover holds 2 to ${MAX_COVER_CHANGES} changes, not ${n}`)
  if (k.byteLength !== 32 * n) throw new CoverFormatError(`${k.byteLength} bytes of hashes for ${n} changes`)
  const external = d.map(hexOf)
  const hashes: string[] = []
  const seen = new Set<string>(external)
  if (seen.size !== external.length) throw new CoverFormatError('an external dep named twice')
  for (let i = 0; i < n; i++) {
    const h = hexOf(k.subarray(32 * i, 32 * i + 32))
    if (seen.has(h)) throw new CoverFormatError(`hash ${h.slice(0, 12)} twice, or also an external dep`)
    seen.add(h)
    hashes.push(h)
  }
  if (hashes[n - 1] !== hexOf(fields.h)) throw new CoverFormatError('its last hash is not the one it is named by')
  let pos = 0
  const read = (): number => {
    let v = 0
    let scale = 1
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= kd.byteLength) throw new CoverFormatError('its deps end early')
      const b = kd[pos++]!
      v += (b & 0x7f) * scale
      if (b < 0x80) return v
      scale *= 128
    }
    throw new CoverFormatError('a deps reference that does not end')
  }
  const used = new Set<number>()
  const changes: CoveredChange[] = []
  for (let i = 0; i < n; i++) {
    const count = read()
    if (count > MAX_HEADS) throw new CoverFormatError(`change ${i} has ${count} deps`)
    const deps: string[] = []
    for (let j = 0; j < count; j++) {
      const r = read()
      const x = Math.floor(r / 2)
      let dep: string
      if (r % 2 === 0 && x < i) dep = hashes[i - 1 - x]!
      else if (r % 2 === 1 && x < external.length) {
        dep = external[x]!
        used.add(x)
      } else throw new CoverFormatError(`change ${i} names dep ${r}, neither an earlier covered change nor an external dep`)
      if (deps.includes(dep)) throw new CoverFormatError(`change ${i} names a dep twice`)
      deps.push(dep)
    }
    changes.push({ hash: hashes[i]!, deps })
  }
  if (pos !== kd.byteLength) throw new CoverFormatError(`${kd.byteLength - pos} bytes left over in its deps`)
  if (used.size !== external.length) throw new CoverFormatError('an external dep no covered change names')
  return changes
}

/** What a cover's signature covers besides the sealed run's fields: its covered hashes and deps. */
export function coverDigest(k: Uint8Array, kd: Uint8Array): Buffer {
  return Buffer.concat([sha256(k), sha256(kd)])
}

/**
 * A cover once opened: exactly the changes its fields say (`covered`), in that order, with those deps,
 * each by an actor of the signer.
 */
export function openedCover(cover: ValidChange & { covered: CoveredChange[] }, plain: Uint8Array): ValidChange | Rejection {
  let changes: A.DecodedChange[]
  try {
    changes = A.readBundle(plain).changes
  } catch (err) {
    return { reason: 'bad-change', detail: `not an Automerge bundle (${(err as Error).message})` }
  }
  const said = cover.covered
  if (changes.length !== said.length)
    return { reason: 'bad-change', detail: `it holds ${changes.length} changes, not ${said.length} as signed` }
  const actors = new Map<string, boolean>()
  let empty = true
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!
    const s = said[i]!
    if (c.hash !== s.hash) return { reason: 'bad-change', detail: `its change ${i} is ${c.hash}, not ${s.hash} as signed` }
    if (c.deps.length !== s.deps.length || c.deps.some((d) => !s.deps.includes(d)))
      return { reason: 'bad-change', detail: `its change ${i} does not have the deps it was signed with` }
    let ok = actors.get(c.actor)
    if (ok === undefined) {
      ok = actorBelongsTo(c.actor, cover.author)
      actors.set(c.actor, ok)
    }
    if (!ok) return { reason: 'foreign-actor', detail: `actor ${c.actor} does not belong to signer ${cover.author}` }
    if (c.ops.length > 0) empty = false
  }
  const last = changes.at(-1)!
  return { ...cover, plain, actor: last.actor, time: last.time, empty, effects: effectsOf(changes) }
}
