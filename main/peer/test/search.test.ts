/**
 * Search across a workspace's documents (sync/search-index.ts, SQLite FTS5): what is typed here and
 * what a teammate writes are found, with a snippet and the place of the hit; deleted documents and
 * workspaces not asked for are not; the index survives a restart, a profile from before is indexed at
 * start, and any input is a valid query or a clear error.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { MAX_SEARCH_QUERY_CHARS } from '../../../shared/limits.ts'
import { GrapevineError } from '../../../shared/protocol.ts'
import { DB_FILE } from '../peer.ts'
import { ftsQuery } from '../sync/search-index.ts'
import { formWorkspace, startPeer, tempDir, waitFor, stopAndRemoveAfter } from './helpers.ts'

const { dirs, running } = stopAndRemoveAfter()

const hitText = (parts: { text: string; hit: boolean }[]): string[] => parts.filter((p) => p.hit).map((p) => p.text)

test('ftsQuery: words become required prefix terms; FTS5 syntax a person types is only words', () => {
  assert.equal(ftsQuery('launch plan'), '"launch"* "plan"*')
  assert.equal(ftsQuery('  '), null)
  assert.equal(ftsQuery('"*(:-)^'), null, 'punctuation alone is no query')
  assert.equal(ftsQuery('title:plan NEAR(a b) OR "x'), '"title"* "plan"* "NEAR"* "a"* "b"* "OR"* "x"*')
  assert.equal(ftsQuery('café 東京 42'), '"café"* "東京"* "42"*')
  assert.equal(ftsQuery(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '))?.split(' ').length, 16, 'at most 16 words')
})

test("search finds this device's and a teammate's words, with a snippet and where the hit is; deleted documents and other workspaces are not found", async () => {
  const [aDir, bDir] = [tempDir(), tempDir()]
  dirs.push(aDir, bDir)
  const a = await startPeer(aDir.path, { name: 'ana' })
  const b = await startPeer(bDir.path, { name: 'ben' })
  running.push(a, b)
  const ws = await formWorkspace(a, [b])
  const A = a.connect()
  const B = b.connect()
  const other = (await A.request('workspace.create', { name: 'Elsewhere' })).id

  const text = 'Notes from Monday.\n\nThe launch plan moves to the café on Friday; planning starts now.'
  const plan = (await A.request('doc.create', { workspaceId: ws, title: 'Roadmap', text })).id
  await A.request('doc.create', { workspaceId: other, title: 'Launch elsewhere', text: 'launch launch' })

  const found = await A.request('search.query', { query: 'launch plan', workspaceId: ws })
  assert.equal(found.length, 1, 'one document of this workspace has both words')
  assert.equal(found[0]!.docId, plan)
  assert.equal(found[0]!.title, 'Roadmap')
  assert.deepEqual(hitText(found[0]!.parts).slice(0, 2), ['launch', 'plan'])
  assert.equal(found[0]!.at, text.indexOf('launch'), 'the first hit is placed in the text')
  assert.equal(found[0]!.parts.map((p) => p.text).join(''), text.slice(text.indexOf('Notes')), 'the snippet is the text as it is')

  assert.deepEqual(
    (await A.request('search.query', { query: 'plan' })).map((h) => h.docId),
    [plan],
    'a prefix finds "plan" and "planning"; without a workspace, every workspace this device reads',
  )
  assert.equal((await A.request('search.query', { query: 'launch' })).length, 2, 'both workspaces when none is named')
  assert.equal((await A.request('search.query', { query: 'cafe' }))[0]?.docId, plan, 'accents do not matter')
  assert.equal((await A.request('search.query', { query: 'roadmap' }))[0]?.at, null, 'a hit in the title opens at the start')
  assert.deepEqual(await A.request('search.query', { query: 'tuesday' }), [], 'no such word')

  // What was just typed is found at once (the index is brought up to date before a search).
  await A.request('doc.setText', { docId: plan, text: `${text}\nBudget approved.` })
  assert.equal((await A.request('search.query', { query: 'budget' }))[0]?.docId, plan)

  // A teammate's document and edit, found here once they arrive.
  const hers = (await B.request('doc.create', { workspaceId: ws, title: 'From Ben', text: 'Quarterly zeppelin review' })).id
  const fromBen = await waitFor('ben’s document in ana’s search', async () => {
    const hits = await A.request('search.query', { query: 'zeppelin', workspaceId: ws })
    return hits.length === 1 ? hits : null
  })
  assert.equal(fromBen[0]!.docId, hers)
  await B.request('doc.setText', { docId: hers, text: 'Quarterly airship review' })
  await waitFor('ben’s edit in ana’s search', async () => {
    const [old, now] = await Promise.all([
      A.request('search.query', { query: 'zeppelin' }),
      A.request('search.query', { query: 'airship' }),
    ])
    return old.length === 0 && now[0]?.docId === hers
  })

  // Deleted: gone from the results.
  await A.request('doc.delete', { docId: plan })
  assert.deepEqual(await A.request('search.query', { query: 'launch', workspaceId: ws }), [])
})

test('the index survives a restart; a profile that was never indexed is indexed at start; rebuild counts the documents', async () => {
  const dir = tempDir()
  dirs.push(dir)
  let a = await startPeer(dir.path, { name: 'ana' })
  const ws = (await a.connect().request('workspace.create', { name: 'Team' })).id
  for (let i = 0; i < 5; i++) await a.connect().request('doc.create', { workspaceId: ws, title: `Doc ${i}`, text: `walrus number ${i}` })
  await a.stop()

  a = await startPeer(dir.path)
  assert.equal((await a.connect().request('search.query', { query: 'walrus' })).length, 5, 'found after a restart')
  await a.stop()

  // As a profile of the version before search left it: no index, no mark.
  const raw = new Database(join(dir.path, DB_FILE))
  raw.exec("DELETE FROM search_fts; DELETE FROM search_docs; DELETE FROM meta WHERE key = 'search_indexed'")
  raw.close()
  a = await startPeer(dir.path)
  running.push(a)
  await waitFor('the documents indexed at start', async () => (await a.connect().request('search.query', { query: 'walrus' })).length === 5)
  assert.deepEqual(await a.connect().request('search.rebuild', {}), { documents: 5 })
  assert.equal((await a.connect().request('search.query', { query: 'walrus number 3' })).length, 1)
})

test('bad searches: too long is too-large, an unknown workspace is not-found, punctuation finds nothing, and nothing breaks', async () => {
  const dir = tempDir()
  dirs.push(dir)
  const a = await startPeer(dir.path, { name: 'ana' })
  running.push(a)
  const A = a.connect()
  const ws = (await A.request('workspace.create', { name: 'Team' })).id
  await A.request('doc.create', { workspaceId: ws, title: 'Plan', text: 'the plan' })
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (err: unknown) => (err instanceof GrapevineError ? err.code : String(err)),
    )
  assert.equal(await codeOf(A.request('search.query', { query: 'x'.repeat(MAX_SEARCH_QUERY_CHARS + 1) })), 'too-large')
  assert.equal(await codeOf(A.request('search.query', { query: 'plan', workspaceId: 'f'.repeat(32) })), 'not-found')
  assert.equal(await codeOf(A.request('search.query', { query: 'plan', limit: 0 })), 'bad-request')
  for (const q of ['"', '*', 'NEAR(', 'plan"', 'title:plan', '(((', 'AND OR NOT', '\u0000\u0002', '']) {
    assert.equal(await codeOf(A.request('search.query', { query: q })), 'ok', `'${q}' is a valid search`)
  }
  assert.equal((await A.request('search.query', { query: 'plan"' })).length, 1, 'a stray quote is ignored')
})
