/**
 * "My tasks" is read again for a board's change, not for a teammate's keystrokes in text. The peer is a
 * stand-in that answers `doc.list` with `docIds` from a table of kinds (the peer's own answer to `docIds`
 * is tested against a real peer in main/peer/test/app-protocol.test.ts); the window's use of it is in the
 * board e2e tests.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ClientEvent } from '../../../shared/protocol.ts'
import type { DocKind } from '../../../shared/board.ts'
import { BoardWatch } from './board-watch.ts'

const WS = 'a'.repeat(32)
const id = (n: number): string => n.toString(16).padStart(32, '0')

function fakePeer(kinds: Map<string, DocKind>, opts: { fail?: boolean } = {}) {
  const asked: string[][] = []
  const client = {
    request: (async (method: string, params: { docIds?: string[] }) => {
      assert.equal(method, 'doc.list')
      asked.push(params.docIds ?? [])
      if (opts.fail) throw Object.assign(new Error('unreachable'), { code: 'unreachable' })
      return (params.docIds ?? []).filter((d) => kinds.has(d)).map((d) => ({ id: d, kind: kinds.get(d) }))
    }) as never,
  }
  return { client, asked }
}

const listed = (...docIds: string[]): ClientEvent => ({ type: 'doc.list', workspaceId: WS, docIds })

test('a text document typed in: asked for once, then no read of the tasks and no request', async () => {
  const { client, asked } = fakePeer(new Map([[id(1), 'text']]))
  const watch = new BoardWatch(client)
  assert.equal(await watch.mayChangeBoards(listed(id(1))), false)
  for (let i = 0; i < 20; i++) assert.equal(await watch.mayChangeBoards(listed(id(1))), false)
  assert.deepEqual(asked, [[id(1)]])
})

test('a board among the named documents, a listing that names none, or new workspaces: read the tasks again', async () => {
  const { client, asked } = fakePeer(
    new Map<string, DocKind>([
      [id(1), 'text'],
      [id(2), 'board'],
    ]),
  )
  const watch = new BoardWatch(client)
  assert.equal(await watch.mayChangeBoards(listed(id(1), id(2))), true)
  assert.equal(await watch.mayChangeBoards(listed(id(2))), true)
  assert.equal(await watch.mayChangeBoards({ type: 'doc.list', workspaceId: WS }), true)
  assert.equal(await watch.mayChangeBoards({ type: 'workspace.list' }), true)
  assert.equal(await watch.mayChangeBoards({ type: 'doc.sync', docId: id(2) }), false)
  assert.deepEqual(asked, [[id(1), id(2)]], 'kinds are asked for once')
})

test('unsure means read again: a document the listing leaves out, or a lookup that fails', async () => {
  const gone = fakePeer(new Map())
  assert.equal(await new BoardWatch(gone.client).mayChangeBoards(listed(id(7))), true)
  const down = fakePeer(new Map([[id(1), 'text']]), { fail: true })
  assert.equal(await new BoardWatch(down.client).mayChangeBoards(listed(id(1))), true)
})
