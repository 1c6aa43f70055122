/**
 * Malformed client requests: each is a GrapevineError with a code, and nothing changes.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { MAX_CHANGE_BYTES, MAX_INVITE_CODE_CHARS, MAX_TEXT_CHARS } from '../../../shared/limits.ts'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import { startPeer, tempDir } from './helpers.ts'
import { changeOnTop, rejectsWith, rawRequest, stopAll } from './attacker.ts'

describe('client protocol bad input', () => {
  const dir = tempDir()
  let peer: Peer | undefined
  let c: PeerClient
  let ws: string
  let docId: string
  let baseline: { text: string; heads: string[] }
  let docBytes: Uint8Array

  before(async () => {
    peer = await startPeer(dir.path, { name: 'Solo' })
    c = peer.connect()
    ws = (await c.request('workspace.create', { name: 'Solo' })).id
    docId = (await c.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'hello' })).id
    const opened = await c.request('doc.open', { docId })
    docBytes = opened.bytes
    baseline = { text: 'hello', heads: opened.heads }
  })

  after(async () => stopAll([peer], [dir]))

  async function assertUnchanged(): Promise<void> {
    const read = await c.request('doc.read', { docId })
    assert.equal(read.text, baseline.text)
    assert.deepEqual(read.heads, baseline.heads)
    assert.equal((await c.request('doc.list', { workspaceId: ws })).length, 1)
    assert.equal((await c.request('workspace.list', {})).length, 1)
  }

  it('rejects unknown methods', async () => {
    for (const method of ['nope', 'doc.nope', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x'.repeat(10_000)]) {
      await rejectsWith(rawRequest(c, method, {}), ['bad-request'], `method ${method.slice(0, 20)}`)
    }
    await assertUnchanged()
  })

  it('rejects params of the wrong shape', async () => {
    const cases: [string, unknown][] = [
      ['doc.read', { docId: 42 }],
      ['doc.read', {}],
      ['doc.read', null],
      ['doc.read', 'docId'],
      ['doc.read', [docId]],
      ['doc.read', { docId: '../../etc/passwd' }],
      ['doc.read', { docId: 'x'.repeat(129) }],
      ['doc.setText', { docId, text: 5 }],
      ['doc.setText', { docId }],
      ['doc.applyChanges', { docId, changes: [] }],
      ['doc.applyChanges', { docId, changes: ['not bytes'] }],
      ['doc.applyChanges', { docId, changes: [[1, 2, 3]] }],
      ['doc.applyChanges', { docId, changes: new Uint8Array(4) }],
      ['doc.applyChanges', { docId, changes: Array.from({ length: 513 }, () => new Uint8Array(1)) }],
      ['workspace.create', { name: '' }],
      ['workspace.create', { name: '   ' }],
      ['workspace.create', { name: 'x'.repeat(65) }],
      ['workspace.invite', { workspaceId: ws, ttlMs: 10 }],
      ['workspace.invite', { workspaceId: ws, ttlMs: 1.5e12 }],
      ['workspace.invite', { workspaceId: ws, role: 'owner' }],
      ['workspace.invite', { workspaceId: ws, role: 'god' }],
      ['workspace.join', { code: '' }],
      ['workspace.join', { code: 'x'.repeat(MAX_INVITE_CODE_CHARS + 1) }],
      ['doc.create', { workspaceId: ws, title: 'x'.repeat(201) }],
      ['doc.create', { workspaceId: ws }],
      ['peer.dial', { address: '' }],
    ]
    for (const [method, params] of cases) {
      await rejectsWith(rawRequest(c, method, params), ['bad-request'], `${method} ${JSON.stringify(params)?.slice(0, 60)}`)
    }
    await assertUnchanged()
  })

  it('rejects an oversized change or text as too large', async () => {
    const big = new Uint8Array(MAX_CHANGE_BYTES + 1)
    await rejectsWith(c.request('doc.applyChanges', { docId, changes: [big] }), ['too-large'], 'oversized change')
    await rejectsWith(c.request('doc.setText', { docId, text: 'x'.repeat(MAX_TEXT_CHARS + 1) }), ['too-large'], 'oversized text')
    await assertUnchanged()
  })

  it('rejects bytes that are not an Automerge change', async () => {
    const valid = changeOnTop(docBytes, `${peer!.device.actorPrefix}0123456789abcdef`)
    for (const bytes of [new TextEncoder().encode('garbage'), new Uint8Array(0), valid.subarray(0, valid.byteLength >> 1)]) {
      await rejectsWith(c.request('doc.applyChanges', { docId, changes: [bytes] }), ['bad-request'], 'garbage change')
    }
    await assertUnchanged()
  })

  it("rejects a change whose actor lacks this device's prefix", async () => {
    for (const actor of ['ab'.repeat(24), `${peer!.device.actorPrefix}ab`, 'ab'.repeat(8) + peer!.device.actorPrefix]) {
      const change = changeOnTop(docBytes, actor)
      assert.equal(A.decodeChange(change).actor, actor)
      await rejectsWith(c.request('doc.applyChanges', { docId, changes: [change] }), ['bad-request'], `actor ${actor}`)
    }
    await assertUnchanged()
  })

  it('applies none of a batch in which one change is bad', async () => {
    const good = changeOnTop(docBytes, `${peer!.device.actorPrefix}0123456789abcdef`, 'GOOD ')
    const foreign = changeOnTop(docBytes, 'ab'.repeat(24))
    await rejectsWith(c.request('doc.applyChanges', { docId, changes: [good, foreign] }), ['bad-request'], 'mixed batch')
    await rejectsWith(c.request('doc.applyChanges', { docId, changes: [good, new Uint8Array([1, 2, 3])] }), ['bad-request'], 'mixed batch')
    await assertUnchanged()
  })

  it('rejects requests about documents and workspaces that do not exist', async () => {
    await rejectsWith(c.request('doc.read', { docId: 'nosuchdoc' }), ['not-found'], 'missing doc')
    await rejectsWith(c.request('doc.setText', { docId: 'nosuchdoc', text: 'x' }), ['not-found'], 'missing doc')
    await rejectsWith(c.request('doc.list', { workspaceId: 'nosuchws' }), ['not-found'], 'missing workspace')
    await rejectsWith(c.request('doc.create', { workspaceId: 'nosuchws', title: 'x' }), ['not-found'], 'missing workspace')
    await assertUnchanged()
  })

  it('still takes a good change afterwards', async () => {
    const good = changeOnTop(docBytes, `${peer!.device.actorPrefix}0123456789abcdef`, 'GOOD ')
    const { heads } = await c.request('doc.applyChanges', { docId, changes: [good] })
    const read = await c.request('doc.read', { docId })
    assert.equal(read.text, 'GOOD hello')
    assert.deepEqual(read.heads, heads)
  })

  it('rejects a change that builds on changes the peer does not have; takes it behind the one it builds on', async () => {
    const opened = await c.request('doc.open', { docId })
    const actor = `${peer!.device.actorPrefix}00112233445566ff`
    const copy = A.load<{ text: string }>(opened.bytes, { actor })
    const one = A.change(copy, (d) => A.splice(d, ['text'], 0, 0, 'one '))
    const c1 = A.getLastLocalChange(one)! // before the next change: `one` is outdated after it
    const c2 = A.getLastLocalChange(A.change(one, (d) => A.splice(d, ['text'], 0, 0, 'two ')))!
    const was = await c.request('doc.read', { docId })
    await rejectsWith(c.request('doc.applyChanges', { docId, changes: [c2] }), ['bad-request'], 'orphan change')
    assert.deepEqual(await c.request('doc.read', { docId }), was, 'nothing of it is kept')
    // In one request, in causal order, both are taken.
    await c.request('doc.applyChanges', { docId, changes: [c1, c2] })
    assert.equal((await c.request('doc.read', { docId })).text, `two one ${was.text}`)
  })
})
