/**
 * Long texts: a document created with, or set to, a text far over one change's cap (MAX_CHANGE_BYTES)
 * goes in as several changes, each of which teammates take, so it reaches them and catch-up of the
 * workspace keeps working. (An edit the peer cannot split, and that would make one change over the cap,
 * is refused with a clear error before anything is stored or sent: Documents' sendableChange.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { textSplices } from '../sync/doc-content.ts'
import { formWorkspace, startPeer, tempDir, waitFor, stopAndRemoveAfter } from './helpers.ts'

const { dirs, running } = stopAndRemoveAfter()

test('textSplices: a small edit is a diff; a long one replaces the middle in splices of at most the limit, never splitting a surrogate pair', () => {
  assert.equal(textSplices('abc', 'abXc', 1000), null, 'a small edit is left to the character diff')
  const current = 'keep old middle end'
  const target = `keep ${'ab😀'.repeat(5000)} end`
  const splices = textSplices(current, target, 1000, 100)!
  let text = current
  for (const s of splices) {
    assert.ok(s.insert.length <= 1000, 'at most the limit per splice')
    assert.equal(/[\ud800-\udbff]$|^[\udc00-\udfff]/.test(s.insert), false, 'no half of a pair at either end')
    text = text.slice(0, s.at) + s.insert + text.slice(s.at + s.del)
  }
  assert.equal(text, target, 'the splices make the target')
  assert.equal(
    splices.slice(1).every((s) => s.del === 0),
    true,
    'only the first removes',
  )
})

test('a 300 KiB text created and then replaced reaches a teammate as changes it takes; later edits still sync', async () => {
  const [aDir, bDir] = [tempDir(), tempDir()]
  dirs.push(aDir, bDir)
  const a = await startPeer(aDir.path, { name: 'ana' })
  const b = await startPeer(bDir.path, { name: 'ben' })
  running.push(a, b)
  const ws = await formWorkspace(a, [b])
  const big = 'x'.repeat(300 * 1024)
  const docId = (await a.connect().request('doc.create', { workspaceId: ws, title: 'Big', text: big })).id
  await waitFor(
    'the big text at ben',
    async () =>
      (
        await b
          .connect()
          .request('doc.read', { docId })
          .catch(() => null)
      )?.text === big,
  )
  const other = 'é'.repeat(200 * 1024)
  await a.connect().request('doc.setText', { docId, text: other })
  await waitFor('the replaced text at ben', async () => (await b.connect().request('doc.read', { docId })).text === other)
  const small = (await a.connect().request('doc.create', { workspaceId: ws, title: 'Small', text: 'hi' })).id
  await b.syncNow()
  await waitFor(
    'a small document after them',
    async () =>
      (
        await b
          .connect()
          .request('doc.read', { docId: small })
          .catch(() => null)
      )?.text === 'hi',
  )
  assert.deepEqual(b.stats().gossip.rejected, {}, 'ben refused nothing ana sent')
})
