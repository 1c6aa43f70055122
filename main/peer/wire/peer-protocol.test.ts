/**
 * `decodeGossip`: a later version's message (a type or a `v` this version does not know) is told apart from
 * a malformed one, so that the receiver can drop it without blaming a teammate who upgraded first.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from 'cborg'
import { decodeGossip, encodeMessage, PEER_PROTOCOL_VERSION, WireError } from './peer-protocol.ts'

const ws = 'w'.repeat(26)
const MAX = 4096

function failsAs(bytes: Uint8Array, kind: WireError['kind'], what: string): void {
  assert.throws(
    () => decodeGossip(bytes, MAX, 'test message'),
    (err: unknown) => err instanceof WireError && err.kind === kind,
    `${what}: ${kind}`,
  )
}

test('a message of a type or version this one does not know is newer; one it knows is read', () => {
  const heads = { t: 'heads', v: PEER_PROTOCOL_VERSION, ws, docs: [] }
  assert.deepEqual(decodeGossip(encodeMessage(heads as never), MAX, 'test message'), heads)
  failsAs(encode({ t: 'receipts', v: PEER_PROTOCOL_VERSION, ws, anything: [1, 2, 3] }), 'newer', 'an unknown type')
  failsAs(encode({ t: 'receipts' }), 'newer', 'an unknown type with nothing else')
  failsAs(encode({ ...heads, v: PEER_PROTOCOL_VERSION + 1, docs: 'another shape' }), 'newer', 'a known type of a later version')
})

test('what is not a later version stays malformed, and the size cap comes first', () => {
  const heads = { t: 'heads', v: PEER_PROTOCOL_VERSION, ws, docs: [] }
  failsAs(encode({ ...heads, v: PEER_PROTOCOL_VERSION - 1 }), 'malformed', 'an earlier version')
  failsAs(encode({ ...heads, docs: 'not a list' }), 'malformed', 'a known type and version, badly shaped')
  failsAs(encode({ ...heads, v: '5' }), 'malformed', 'a version that is not a number')
  failsAs(encode({ ...heads, v: 4.5 }), 'malformed', 'a version that is not a whole number')
  failsAs(encode({ t: 'x'.repeat(33), v: PEER_PROTOCOL_VERSION }), 'malformed', 'a type name too long to be one')
  failsAs(encode({ t: '', v: PEER_PROTOCOL_VERSION }), 'malformed', 'an empty type name')
  failsAs(encode({ t: 7, v: PEER_PROTOCOL_VERSION + 1 }), 'malformed', 'a type that is not a string')
  failsAs(encode({ v: PEER_PROTOCOL_VERSION + 1 }), 'malformed', 'no type at all')
  failsAs(encode([{ t: 'receipts' }]), 'malformed', 'a list, not a map')
  failsAs(encode('receipts'), 'malformed', 'a string')
  failsAs(new TextEncoder().encode('not CBOR at all'), 'malformed', 'not CBOR')
  failsAs(encode({ t: 'receipts', v: PEER_PROTOCOL_VERSION, pad: new Uint8Array(MAX) }), 'too-large', 'a later version over the cap')
})
