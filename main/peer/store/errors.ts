/** Why a profile's database could not be used. The message always names the file. */
export type StoreErrorKind = 'corrupt' | 'locked' | 'too-new' | 'unreadable'

export class StoreError extends Error {
  readonly kind: StoreErrorKind
  readonly path: string
  constructor(kind: StoreErrorKind, path: string, message: string, cause?: unknown) {
    super(message, { cause })
    this.name = 'StoreError'
    this.kind = kind
    this.path = path
  }
}
