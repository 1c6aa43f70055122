/**
 * The window's listing: loaded whole once, then the rows the peer names, merged in; the whole listing again
 * when an event names none. The peer is a stand-in that answers `doc.list` from an array (the peer's own
 * answer to `docIds` is tested against a real peer in main/peer/test/app-protocol.test.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ClientEvent } from '../../../shared/protocol.ts'
import type { DocumentSummary } from '../../../shared/types.ts'
import { type ListingState, ListingSource, mergeListing } from './doc-listing.ts'

const WS = 'a'.repeat(32)
const id = (n: number): string => n.toString(16).padStart(32, '0')
const row = (n: number, at: number, extra: Partial<DocumentSummary> = {}): DocumentSummary => ({
  id: id(n),
  workspaceId: WS,
  title: `Doc ${n}`,
  createdAt: 1,
  lastChangeAt: at,
  lastChangeBy: null,
  lastChangeByName: null,
  deleted: false,
  unread: false,
  kind: 'text',
  ...extra,
})

test('merging rows: replaced, added, dropped when deleted or gone, newest first, unchanged rows kept as they were', () => {
  const current = [row(1, 30), row(2, 20), row(3, 10)]
  const merged = mergeListing(
    current,
    [id(2), id(3), id(4), id(5)],
    [row(2, 40, { title: 'Renamed' }), row(3, 50, { deleted: true }), row(4, 35)],
  )
  assert.deepEqual(
    merged.map((d) => [d.id, d.title, d.lastChangeAt]),
    [
      [id(2), 'Renamed', 40],
      [id(4), 'Doc 4', 35],
      [id(1), 'Doc 1', 30],
    ],
  )
  assert.equal(merged[2], current[0], 'a row not asked for is the same object (nothing to re-render)')
})

function harness(rows: DocumentSummary[]) {
  const listeners = new Set<(e: ClientEvent) => void>()
  const asked: (string[] | 'all')[] = []
  let failNext = false
  const client = {
    request: (async (method: string, params: { workspaceId: string; docIds?: string[] }) => {
      assert.equal(method, 'doc.list')
      asked.push(params.docIds ?? 'all')
      if (failNext) {
        failNext = false
        throw new Error('the peer went away')
      }
      const live = rows.filter((r) => r.workspaceId === params.workspaceId)
      return params.docIds ? live.filter((r) => params.docIds!.includes(r.id)) : live.filter((r) => !r.deleted)
    }) as never,
    onEvent: (fn: (e: ClientEvent) => void) => {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
  }
  return {
    source: new ListingSource(client, WS),
    asked,
    emit: (e: ClientEvent) => {
      for (const l of [...listeners]) l(e)
    },
    failNext: () => {
      failNext = true
    },
    listening: () => listeners.size,
  }
}

const settled = (): Promise<void> => new Promise((r) => setTimeout(r, 150))

test('the listing is loaded once, then only the rows an event names; an event naming none loads it all again', async () => {
  const rows = [row(1, 30), row(2, 20), row(3, 10)]
  const h = harness(rows)
  const states: ListingState[] = []
  const off = h.source.subscribe((s) => states.push(s))
  await settled()
  assert.deepEqual(h.asked, ['all'])
  assert.deepEqual(
    states.at(-1)?.data?.map((d) => d.id),
    [id(1), id(2), id(3)],
  )

  // A teammate types in document 3: two events close together, one request for its row.
  rows[2] = row(3, 60, { title: 'Now first' })
  h.emit({ type: 'doc.list', workspaceId: WS, docIds: [id(3)] })
  h.emit({ type: 'doc.list', workspaceId: WS, docIds: [id(3)] })
  h.emit({ type: 'doc.list', workspaceId: 'b'.repeat(32), docIds: [id(9)] })
  await settled()
  assert.deepEqual(h.asked, ['all', [id(3)]])
  assert.deepEqual(
    states.at(-1)?.data?.map((d) => d.title),
    ['Now first', 'Doc 1', 'Doc 2'],
  )

  // An activity notice asks for its document's row; an event that names nothing, for the whole listing.
  h.emit({ type: 'doc.activity', workspaceId: WS, docId: id(1), title: 'Doc 1', by: 'x', byName: null })
  await settled()
  assert.deepEqual(h.asked.at(-1), [id(1)])
  rows.push(row(4, 70))
  h.emit({ type: 'doc.list', workspaceId: WS })
  await settled()
  assert.deepEqual(h.asked.at(-1), 'all')
  assert.equal(states.at(-1)?.data?.length, 4)

  // A failed request for rows keeps the listing; the next event loads it whole (the rows may still be stale).
  h.failNext()
  h.emit({ type: 'doc.list', workspaceId: WS, docIds: [id(2)] })
  await settled()
  assert.equal(states.at(-1)?.data?.length, 4, 'the listing stays')
  assert.match(String(states.at(-1)?.error), /went away/)
  const before = h.asked.length
  await settled()
  assert.equal(h.asked.length, before, 'no retry on its own')
  h.emit({ type: 'doc.list', workspaceId: WS, docIds: [id(3)] })
  await settled()
  assert.deepEqual(h.asked.at(-1), 'all')

  off()
  assert.equal(h.listening(), 0)
  h.emit({ type: 'doc.list', workspaceId: WS })
  await settled()
  assert.equal(h.asked.length, before + 1, 'nothing asked after the last subscriber left')
})
