import assert from 'node:assert/strict'
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto'
import { test } from 'node:test'
import { type EpochKey, newEpochKey } from './epoch.ts'
import { CryptoError, type CryptoErrorKind } from './errors.ts'
import { type ContentContext, openContent, SEAL_OVERHEAD, sealContent } from './seal.ts'

const ALICE = '12D3KooWAlice'
const ctx: ContentContext = { kind: 'change', subject: 'doc-1', author: ALICE }
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const keystroke = bytes('x'.repeat(150))

function assertFails(fn: () => unknown, kind: CryptoErrorKind, why: string): void {
  assert.throws(fn, (e: unknown) => e instanceof CryptoError && e.kind === kind, why)
}

test('sealed content round-trips, with the fixed layout nonce(24) ‖ ciphertext ‖ tag(16)', () => {
  const epoch = newEpochKey('ws-1', 'epoch-1')
  for (const size of [0, 1, 150, 65_536]) {
    const plain = new Uint8Array(size).map((_, i) => i * 7)
    const sealed = sealContent(epoch, plain, ctx)
    assert.equal(sealed.byteLength, size + SEAL_OVERHEAD)
    assert.deepEqual(openContent(epoch, sealed, ctx), plain)
  }
  // Random nonces: one plaintext never seals to the same bytes twice.
  assert.notDeepEqual(sealContent(epoch, keystroke, ctx), sealContent(epoch, keystroke, ctx))
})

test('every aad field is bound: another workspace, epoch, kind, subject or author does not open', () => {
  const epoch = newEpochKey('ws-1', 'epoch-1')
  const sealed = sealContent(epoch, keystroke, ctx)
  // The same secret bytes under another name: only the binding differs.
  const renamed = (workspaceId: string, epochId: string): EpochKey => ({ workspaceId, epochId, key: epoch.key })
  assert.deepEqual(openContent(renamed('ws-1', 'epoch-1'), sealed, ctx), keystroke)
  assertFails(() => openContent(renamed('ws-2', 'epoch-1'), sealed, ctx), 'auth-failed', 'workspace')
  assertFails(() => openContent(renamed('ws-1', 'epoch-2'), sealed, ctx), 'auth-failed', 'epoch')
  assertFails(() => openContent(epoch, sealed, { ...ctx, kind: 'title' }), 'auth-failed', 'kind')
  assertFails(() => openContent(epoch, sealed, { ...ctx, subject: 'doc-2' }), 'auth-failed', 'subject')
  assertFails(() => openContent(epoch, sealed, { ...ctx, author: '12D3KooWMallory' }), 'auth-failed', 'author')
  // Length prefixes: moving a character from one field to the next is another context.
  const split = sealContent(epoch, keystroke, { kind: 'member', subject: 'ab', author: 'c' })
  assertFails(() => openContent(epoch, split, { kind: 'member', subject: 'a', author: 'bc' }), 'auth-failed', 'field boundary')
})

test('another epoch key does not open', () => {
  const epoch = newEpochKey('ws-1', 'epoch-1')
  const other = newEpochKey('ws-1', 'epoch-1')
  assertFails(() => openContent(other, sealContent(epoch, keystroke, ctx), ctx), 'auth-failed', 'wrong key')
})

test('truncated, extended and bit-flipped values fail with a kind: malformed or auth-failed', () => {
  const epoch = newEpochKey('ws-1', 'epoch-1')
  const sealed = sealContent(epoch, keystroke, ctx)
  const cut = (len: number) => () => openContent(epoch, sealed.slice(0, len), ctx)
  for (const len of [0, 1, 24, SEAL_OVERHEAD - 1]) assertFails(cut(len), 'malformed', `${len} bytes`)
  for (const len of [SEAL_OVERHEAD, sealed.byteLength - 1]) assertFails(cut(len), 'auth-failed', `${len} bytes`)
  assertFails(() => openContent(epoch, new Uint8Array([...sealed, 0]), ctx), 'auth-failed', 'a byte added')
  for (let bit = 0; bit < sealed.byteLength * 8; bit++) {
    const flipped = sealed.slice()
    flipped[bit >> 3]! ^= 1 << (bit & 7)
    assertFails(() => openContent(epoch, flipped, ctx), 'auth-failed', `bit ${bit} flipped`)
  }
  assert.deepEqual(openContent(epoch, sealed, ctx), keystroke, 'the original still opens')
})

/**
 * XChaCha20-Poly1305 rebuilt from OpenSSL (node:crypto), to check noble's output independently:
 * HChaCha20 is the ChaCha20 block before the final addition of the input state (draft-irtf-cfrg-xchacha
 * §2.2), recovered from OpenSSL's keystream by subtracting that state; then IETF ChaCha20-Poly1305.
 */
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
function hchacha20(key: Uint8Array, nonce16: Uint8Array): Buffer {
  // OpenSSL's 16-byte iv is state words 12..15 (counter ‖ nonce), exactly HChaCha's nonce words.
  const block = createCipheriv('chacha20', key, nonce16).update(Buffer.alloc(64))
  const nonceWords = Buffer.from(nonce16)
  const out = Buffer.alloc(32)
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE((block.readUInt32LE(4 * i) - SIGMA[i]!) >>> 0, 4 * i)
    out.writeUInt32LE((block.readUInt32LE(48 + 4 * i) - nonceWords.readUInt32LE(4 * i)) >>> 0, 16 + 4 * i)
  }
  return out
}

test('cross-check: OpenSSL (node:crypto) opens what noble sealed, with the key and aad derived independently', () => {
  // HChaCha20 test vector from draft-irtf-cfrg-xchacha-03 §2.2.1, so the reference itself is checked first.
  const vectorKey = Uint8Array.from({ length: 32 }, (_, i) => i)
  const vectorNonce = Buffer.from('000000090000004a0000000031415927', 'hex')
  assert.equal(hchacha20(vectorKey, vectorNonce).toString('hex'), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc')

  const epoch = newEpochKey('ws-1', 'epoch-1')
  const sealed = sealContent(epoch, keystroke, ctx)
  const subkeyInfo = Buffer.from('\x00\x13grapevine/subkey/v1\x00\x07content')
  const contentKey = Buffer.from(hkdfSync('sha256', epoch.key, Buffer.alloc(0), subkeyInfo, 32))
  const field = (s: string): Buffer => Buffer.concat([Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)])
  const aad = Buffer.concat(['grapevine/content/v1', 'ws-1', 'epoch-1', 'change', 'doc-1', ALICE].map(field))
  const nonce = sealed.subarray(0, 24)
  const iv = Buffer.concat([Buffer.alloc(4), nonce.subarray(16)])
  const decipher = createDecipheriv('chacha20-poly1305', hchacha20(contentKey, nonce.subarray(0, 16)), iv, { authTagLength: 16 })
  decipher.setAAD(aad, { plaintextLength: keystroke.byteLength })
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - 16))
  const plain = Buffer.concat([decipher.update(sealed.subarray(24, sealed.byteLength - 16)), decipher.final()])
  assert.deepEqual(new Uint8Array(plain), keystroke)
})

test('cost of sealing and opening a keystroke-sized (150 B) change (printed, not asserted)', (t) => {
  const epoch = newEpochKey('ws-1', 'epoch-1')
  const time = (n: number, fn: () => unknown): number => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn()
    return Number(process.hrtime.bigint() - start) / 1000 / n
  }
  const sealed = sealContent(epoch, keystroke, ctx)
  time(5_000, () => sealContent(epoch, keystroke, ctx)) // warm-up: JIT and the cached subkeys
  time(5_000, () => openContent(epoch, sealed, ctx))
  const seal = time(20_000, () => sealContent(epoch, keystroke, ctx))
  const open = time(20_000, () => openContent(epoch, sealed, ctx))
  // A new EpochKey object each time pays the two HKDF derivations the cache otherwise saves.
  const cold = time(2_000, () => sealContent({ ...epoch }, keystroke, ctx))
  const line = `150 B change: seal ${seal.toFixed(1)} µs, open ${open.toFixed(1)} µs (a fresh EpochKey object: seal ${cold.toFixed(1)} µs)`
  t.diagnostic(line)
})
