/** The one error type of this module: callers branch on `kind`, never on the message text. */

/**
 * 'auth-failed': the bytes are well-formed but do not open under this key and context (wrong key,
 * another workspace, epoch, recipient, author or document, or tampered bytes).
 * 'malformed': the bytes cannot be a box of this kind at all (wrong length), or a device id carries
 * no usable Ed25519 key.
 * 'unknown-epoch': no key for the epoch the bytes were sealed under is held here (yet).
 */
export type CryptoErrorKind = 'auth-failed' | 'malformed' | 'unknown-epoch'

export class CryptoError extends Error {
  override readonly name = 'CryptoError'
  readonly kind: CryptoErrorKind

  constructor(kind: CryptoErrorKind, message: string) {
    super(message)
    this.kind = kind
  }
}
