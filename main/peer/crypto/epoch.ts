/**
 * Epoch keys and the key chain. An epoch key is 32 random bytes; a new epoch starts with every
 * rotation (a removal, or a demotion that takes reading away). Each rotation also seals the previous
 * key under the new one (a chain link), so whoever holds the newest key can walk back to every older
 * one and read history, while a removed device, lacking the new key, learns nothing newer.
 */

import { randomBytes } from '@noble/ciphers/utils.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { aeadOpen, aeadSeal, SEAL_OVERHEAD } from './aead.ts'
import { bind, TAG } from './encoding.ts'
import { CryptoError } from './errors.ts'

export const EPOCH_KEY_BYTES = 32
/** The fixed size of a chain link's box: nonce, the sealed 32-byte older key, tag. */
export const CHAIN_BOX_BYTES = SEAL_OVERHEAD + EPOCH_KEY_BYTES

/**
 * One epoch's key, named by its workspace and epoch id. The epoch id comes from the membership log
 * (the wiring decides it; it must be fixed before the epoch's lockboxes are sealed, since they bind it).
 */
export interface EpochKey {
  readonly workspaceId: string
  readonly epochId: string
  readonly key: Uint8Array
}

/** A chain link as it travels in a rotation op: the older key sealed under the newer one. */
export interface ChainLink {
  readonly newerEpochId: string
  readonly olderEpochId: string
  readonly box: Uint8Array
}

/** A fresh epoch key: 32 bytes from the platform CSPRNG (crypto.getRandomValues). */
export function newEpochKey(workspaceId: string, epochId: string): EpochKey {
  return { workspaceId, epochId, key: randomBytes(EPOCH_KEY_BYTES) }
}

type Purpose = 'content' | 'chain'
const subkeys = new WeakMap<EpochKey, Record<Purpose, Uint8Array>>()

/**
 * The key one purpose uses, HKDF-SHA256 from the epoch key: content and chain links never share
 * an AEAD key, whatever the aad says. Cached per EpochKey object, so a seal costs no derivation.
 */
export function subkey(epoch: EpochKey, purpose: Purpose): Uint8Array {
  let keys = subkeys.get(epoch)
  if (!keys) {
    if (!(epoch.key instanceof Uint8Array) || epoch.key.byteLength !== EPOCH_KEY_BYTES) {
      throw new RangeError(`an epoch key is ${EPOCH_KEY_BYTES} bytes`)
    }
    const derive = (p: Purpose): Uint8Array => hkdf(sha256, epoch.key, undefined, bind(TAG.subkey, [p]), 32)
    keys = { content: derive('content'), chain: derive('chain') }
    subkeys.set(epoch, keys)
  }
  return keys[purpose]
}

const chainAad = (workspaceId: string, newerEpochId: string, olderEpochId: string): Uint8Array =>
  bind(TAG.chain, [workspaceId, newerEpochId, olderEpochId])

/** Seals `older` under `newer` (same workspace): the link a rotation op carries. */
export function sealChainLink(newer: EpochKey, older: EpochKey): ChainLink {
  if (newer.workspaceId !== older.workspaceId) throw new RangeError('a chain link joins two epochs of one workspace')
  if (older.key.byteLength !== EPOCH_KEY_BYTES) throw new RangeError(`an epoch key is ${EPOCH_KEY_BYTES} bytes`)
  const box = aeadSeal(subkey(newer, 'chain'), older.key, chainAad(newer.workspaceId, newer.epochId, older.epochId))
  return { newerEpochId: newer.epochId, olderEpochId: older.epochId, box }
}

/** The older key a link holds, given the newer one; 'auth-failed' for another key, workspace or epoch pair. */
export function openChainLink(newer: EpochKey, link: ChainLink): EpochKey {
  if (link.box.byteLength !== CHAIN_BOX_BYTES) {
    throw new CryptoError('malformed', `a chain link's box is ${link.box.byteLength} bytes, ${CHAIN_BOX_BYTES} expected`)
  }
  if (link.newerEpochId !== newer.epochId) {
    throw new CryptoError('auth-failed', `the link is sealed under epoch ${link.newerEpochId}, not ${newer.epochId}`)
  }
  const aad = chainAad(newer.workspaceId, newer.epochId, link.olderEpochId)
  const key = aeadOpen(subkey(newer, 'chain'), link.box, aad, 'a chain link')
  return { workspaceId: newer.workspaceId, epochId: link.olderEpochId, key }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((x, i) => x === b[i])

/** The epoch keys of one workspace this device holds. */
export class EpochKeyring {
  readonly workspaceId: string
  readonly #keys = new Map<string, EpochKey>()

  constructor(workspaceId: string) {
    this.workspaceId = workspaceId
  }

  /** Keeps a key; 'auth-failed' if a different key is already held for that epoch (someone sealed two). */
  add(epoch: EpochKey): void {
    if (epoch.workspaceId !== this.workspaceId) throw new RangeError(`a key of ${epoch.workspaceId} in the keyring of ${this.workspaceId}`)
    const held = this.#keys.get(epoch.epochId)
    if (held && !sameBytes(held.key, epoch.key)) {
      throw new CryptoError('auth-failed', `two different keys for epoch ${epoch.epochId}; keeping the first`)
    }
    if (!held) this.#keys.set(epoch.epochId, epoch)
  }

  has(epochId: string): boolean {
    return this.#keys.has(epochId)
  }

  /** The key of an epoch; 'unknown-epoch' when it is not (yet) held here. */
  get(epochId: string): EpochKey {
    const epoch = this.#keys.get(epochId)
    if (!epoch) throw new CryptoError('unknown-epoch', `no key held for epoch ${epochId} of workspace ${this.workspaceId}`)
    return epoch
  }

  /**
   * Opens every link whose newer key is held and older key is not, repeatedly, in any order the
   * links come in; returns the keys it added. A link that does not open throws (links come from
   * signed ops, so one that fails is an admin's fault, not noise to skip).
   */
  recover(links: Iterable<ChainLink>): EpochKey[] {
    const pending = [...links]
    const added: EpochKey[] = []
    for (let progress = true; progress; ) {
      progress = false
      for (let i = pending.length - 1; i >= 0; i--) {
        const link = pending[i]!
        if (this.#keys.has(link.olderEpochId)) {
          pending.splice(i, 1)
        } else if (this.#keys.has(link.newerEpochId)) {
          const older = openChainLink(this.get(link.newerEpochId), link)
          this.add(older)
          added.push(older)
          pending.splice(i, 1)
          progress = true
        }
      }
    }
    return added
  }
}
