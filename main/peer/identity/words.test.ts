import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { WORDLIST, fingerprintText, fingerprintWords } from './words.ts'

/** fingerprintText of a 32-byte all-zero key under this word list. */
const PINNED_ZERO_KEY_TEXT = 'golden-grape-jigsaw-peanut-walrus-giraffe'

/** A real Ed25519 public key (32 raw bytes), as a device identity has. */
function ed25519PublicKey(): Uint8Array {
  const spki = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(spki.length - 32))
}

test('the word list has 256 distinct short lowercase words', () => {
  assert.equal(WORDLIST.length, 256)
  assert.equal(new Set(WORDLIST).size, 256)
  for (const word of WORDLIST) assert.match(word, /^[a-z]{3,7}$/)
  assert.ok(Object.isFrozen(WORDLIST))
})

test('the words are the first bytes of SHA-256 of the key, one word per byte', () => {
  const key = ed25519PublicKey()
  const digest = createHash('sha256').update(key).digest()
  assert.deepEqual(
    fingerprintWords(key),
    [...digest.subarray(0, 6)].map((byte) => WORDLIST[byte]),
  )
})

test('the same key always gives the same words', () => {
  const key = ed25519PublicKey()
  assert.deepEqual(fingerprintWords(key), fingerprintWords(Uint8Array.from(key)))
  assert.equal(fingerprintText(key), fingerprintText(key))
  // Pinned so that an edit to the word list (which would change every fingerprint) fails here.
  assert.equal(fingerprintText(new Uint8Array(32)), PINNED_ZERO_KEY_TEXT)
})

test('different keys give different words', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) seen.add(fingerprintText(ed25519PublicKey()))
  assert.equal(seen.size, 200)
  const key = ed25519PublicKey()
  const flipped = Uint8Array.from(key)
  flipped[0]! ^= 1
  assert.notEqual(fingerprintText(key), fingerprintText(flipped))
})

test('count is honoured and the text form is six words joined by dashes', () => {
  const key = ed25519PublicKey()
  for (const count of [1, 4, 6, 12, 32]) {
    const words = fingerprintWords(key, count)
    assert.equal(words.length, count)
    assert.deepEqual(words, fingerprintWords(key, 32).slice(0, count))
  }
  const text = fingerprintText(key)
  assert.equal(text, fingerprintWords(key).join('-'))
  assert.match(text, /^[a-z]{3,7}(-[a-z]{3,7}){5}$/)
})

test('a count outside 1..32 is refused', () => {
  const key = ed25519PublicKey()
  for (const count of [0, -1, 33, 2.5, Number.NaN]) {
    assert.throws(() => fingerprintWords(key, count), RangeError)
  }
})
