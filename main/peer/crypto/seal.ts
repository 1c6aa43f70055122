/**
 * Content sealing: everything about a workspace that crosses the network (changes, snapshots,
 * titles, presence, names in membership ops) is sealed under the epoch's content key. The aad binds
 * where a sealed value belongs, so a member or keeper cannot move it to another workspace, epoch,
 * document, kind or author: it would no longer open. Layout: `nonce(24) ‖ ciphertext ‖ tag(16)`.
 */
import { aeadOpen, aeadSeal } from './aead.ts'
import { bind, extend, TAG } from './encoding.ts'
import { type EpochKey, subkey } from './epoch.ts'

export { SEAL_OVERHEAD } from './aead.ts'

/** What a sealed value is: kinds are never interchangeable, even for one subject. */
export type ContentKind = 'change' | 'run' | 'cover' | 'snapshot' | 'title' | 'presence' | 'member'

/** Where a sealed value belongs, besides its workspace and epoch (those come with the key). */
export interface ContentContext {
  /** What it is. */
  readonly kind: ContentKind
  /** What it is about: the document id for change/snapshot/title/presence, the member's device id for a member name. */
  readonly subject: string
  /** The device id that wrote it; must equal the signer the wiring verified. */
  readonly author: string
}

// The tag, workspace and epoch part of the aad is the same for every value of an epoch: encoded once.
const prefixes = new WeakMap<EpochKey, Uint8Array>()

function contentAad(epoch: EpochKey, ctx: ContentContext): Uint8Array {
  let prefix = prefixes.get(epoch)
  if (!prefix) {
    prefix = bind(TAG.content, [epoch.workspaceId, epoch.epochId])
    prefixes.set(epoch, prefix)
  }
  return extend(prefix, [ctx.kind, ctx.subject, ctx.author])
}

/** Seals `plaintext` under the epoch's content key for `ctx`: `nonce ‖ ciphertext ‖ tag`. */
export function sealContent(epoch: EpochKey, plaintext: Uint8Array, ctx: ContentContext): Uint8Array {
  return aeadSeal(subkey(epoch, 'content'), plaintext, contentAad(epoch, ctx))
}

/** The plaintext of `sealed`; CryptoError 'malformed' (too short) or 'auth-failed' (wrong key, context or bytes). */
export function openContent(epoch: EpochKey, sealed: Uint8Array, ctx: ContentContext): Uint8Array {
  return aeadOpen(subkey(epoch, 'content'), sealed, contentAad(epoch, ctx), 'sealed content')
}
