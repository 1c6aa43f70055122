import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GrapevineError } from '../../../shared/protocol.ts'
import type { DocSyncStatus } from '../../../shared/types.ts'
import { colourFor, hueFor, initials, selectionColourFor } from './colour.ts'
import { shortcutFor } from './commands.ts'
import { plainError } from './errors.ts'
import { ago, clockTime, dateFormat, expiresIn, sentence, syncStatusText, theirLocalTime, utcOffsetLabel } from './format.ts'
import { fuzzyFilter, fuzzyScore } from './fuzzy.ts'
import { formatRoute, parseRoute } from './route.ts'
import { throttle } from '../../../shared/throttle.ts'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { WorkspaceInfo } from '../../../shared/types.ts'
import { unzipSync } from 'fflate'
import { exportDocument, exportWorkspace, planImport } from './transfer.ts'

const status = (s: Partial<DocSyncStatus>): DocSyncStatus => ({
  docId: 'd',
  heads: [],
  savedLocally: true,
  upToDate: [],
  otherMembers: 0,
  waitingChanges: 0,
  lastOwnEditAt: null,
  receipts: [],
  ...s,
})

test('sync status says what is true', () => {
  const t = (s: Partial<DocSyncStatus>, unsent = 0, online = 0) => syncStatusText(status(s), { unsent, teammatesOnline: online }).text
  assert.equal(t({}), 'Saved on this device')
  assert.equal(t({}, 2), 'Saving…')
  assert.equal(t({ savedLocally: false }), 'Saving…')
  assert.equal(t({ otherMembers: 4, upToDate: ['a', 'b', 'c'] }, 0, 3), 'On 3 of 4 teammates')
  assert.equal(t({ otherMembers: 1, upToDate: ['a'] }, 0, 1), 'On 1 of 1 teammate')
  assert.equal(t({ otherMembers: 3, waitingChanges: 12 }, 0, 0), 'Offline — 12 changes waiting')
  assert.equal(t({ otherMembers: 3, waitingChanges: 1 }, 0, 0), 'Offline — 1 change waiting')
  assert.equal(t({ otherMembers: 3, waitingChanges: 5 }, 0, 2), 'Saved on this device — sending 5 changes')
  assert.equal(t({ otherMembers: 3 }, 0, 1), 'Saved on this device')
  const down = (unsent: number) =>
    syncStatusText(status({ otherMembers: 2, upToDate: ['a'] }), { unsent, teammatesOnline: 1, connected: false }).text
  assert.equal(down(3), 'Not saved yet — 3 edits waiting for the peer')
  assert.equal(down(0), 'On 1 of 2 teammates', 'what was saved stays true while the peer is away')
})

test('times in words', () => {
  const now = Date.UTC(2026, 10, 20, 12, 0, 0)
  assert.equal(ago(null, now), 'never')
  assert.equal(ago(now - 10_000, now), 'just now')
  assert.equal(ago(now - 5 * 60_000, now), '5 min ago')
  assert.equal(ago(now - 3 * 3600_000, now), '3 h ago')
  assert.equal(ago(now - 30 * 3600_000, now), 'yesterday')
  assert.equal(ago(now - 4 * 86400_000, now), '4 days ago')
  assert.equal(expiresIn(now - 1, now), 'expired')
  assert.equal(expiresIn(now + 24 * 3600_000, now), 'in 24 hours')
  assert.equal(expiresIn(now + 10 * 60_000, now), 'in 10 minutes')
  assert.equal(theirLocalTime(0, now), '12:00')
  assert.equal(theirLocalTime(330, now), '17:30')
  assert.equal(theirLocalTime(-480, now), '04:00')
  assert.equal(theirLocalTime(14 * 60, now), '02:00', 'across midnight')
  assert.equal(utcOffsetLabel(0), 'UTC')
  assert.equal(utcOffsetLabel(330), 'UTC+5:30')
  assert.equal(utcOffsetLabel(-180), 'UTC−3')
  // On this machine's clock and locale: the time alone today, with the date another day.
  const today = new Date(2026, 10, 20, 9, 12).getTime()
  const time = new Date(today).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
  assert.equal(clockTime(today, new Date(2026, 10, 20, 18, 0).getTime()), time)
  assert.notEqual(clockTime(today, new Date(2026, 10, 23, 9, 0).getTime()), time)
  assert.ok(clockTime(today, new Date(2026, 10, 23, 9, 0).getTime()).endsWith(time))
  // The kept formatters write what toLocale*String writes, and are made once per set of options.
  const other = new Date(2027, 0, 3, 17, 5)
  assert.equal(
    clockTime(other.getTime(), today),
    `${other.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${other.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`,
  )
  assert.equal(
    dateFormat({ weekday: 'short', day: 'numeric', month: 'short' }).format(other),
    other.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' }),
  )
  assert.equal(dateFormat({ hour: '2-digit', minute: '2-digit' }), dateFormat({ hour: '2-digit', minute: '2-digit' }))
  assert.equal(sentence('all 3 teammates have the current key'), 'All 3 teammates have the current key')
  assert.equal(sentence(''), '')
})

test('a teammate has the same colour everywhere, and teammates differ', () => {
  assert.equal(colourFor('12D3KooWAna'), colourFor('12D3KooWAna'))
  assert.match(colourFor('x'), /^hsl\(\d{1,3} 70% 40%\)$/)
  assert.match(selectionColourFor('x'), /^hsl\(\d{1,3} 80% 55% \/ 0\.28\)$/)
  const hues = new Set(Array.from({ length: 50 }, (_, i) => Math.floor(hueFor(`12D3KooWpeer${i}`) / 30)))
  assert.ok(hues.size >= 8, `50 ids spread over ${hues.size} of 12 hue bands`)
  assert.equal(initials('Ana Lima'), 'AL')
  assert.equal(initials(' bob '), 'B')
  assert.equal(initials('Zoë de la Cruz'), 'ZC')
  assert.equal(initials(''), '?')
})

test('fuzzy filter: substrings first, then characters in order; no match, no entry', () => {
  const items = ['Roadmap 2027', 'Release notes', 'Meeting notes', 'Random']
  assert.deepEqual(
    fuzzyFilter(items, 'notes', (x) => x),
    ['Release notes', 'Meeting notes'],
  )
  assert.deepEqual(fuzzyFilter(items, 'rn', (x) => x)[0], 'Release notes')
  assert.deepEqual(
    fuzzyFilter(items, '', (x) => x),
    items,
  )
  assert.equal(fuzzyScore('zzz', 'Roadmap'), null)
  assert.ok(fuzzyScore('road', 'Roadmap')! > fuzzyScore('rdmp', 'Roadmap')!)
})

test('errors in plain words, never a stack', () => {
  assert.equal(
    plainError(new GrapevineError('invite-expired', 'This invite expired at 14:00.')),
    'That invite has expired: This invite expired at 14:00.',
  )
  assert.equal(plainError(new GrapevineError('forbidden', '')), 'You are not allowed to do that.')
  assert.equal(plainError({ code: 'unreachable', message: 'x\n    at foo (a.js:1:1)' }), 'Could not reach the other device: x')
  const te = new TypeError('Cannot read properties of undefined')
  assert.ok(!plainError(te).includes('undefined'))
  assert.ok(!plainError({ code: 'made-up', message: 'm' }).includes('made-up'))
})

test('routes round-trip, and junk routes select nothing', () => {
  for (const r of [
    { workspaceId: null, docId: null },
    { workspaceId: 'w1', docId: null },
    { workspaceId: 'w_1-x', docId: 'd9' },
    { workspaceId: 'w1', docId: 'd9', cardId: '0a1b2c3d4e5f6071' },
    { workspaceId: 'w1', docId: null, tasks: true as const },
  ]) {
    assert.deepEqual(parseRoute(formatRoute(r)), r)
  }
  assert.deepEqual(parseRoute('#/w/../d/x'), { workspaceId: null, docId: null })
  assert.deepEqual(parseRoute('#/w/ok/d/<script>'), { workspaceId: 'ok', docId: null })
  assert.deepEqual(parseRoute(''), { workspaceId: null, docId: null })
  assert.deepEqual(parseRoute('#/w/ok/d/doc/c/<b>'), { workspaceId: 'ok', docId: 'doc' })
  assert.deepEqual(parseRoute('#/w/ok/tasks/x'), { workspaceId: 'ok', docId: null })
})

test('shortcuts: Ctrl or Cmd', () => {
  const k = (key: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) =>
    shortcutFor({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods })
  assert.equal(k('k', { ctrlKey: true }), 'command-palette')
  assert.equal(k('K', { metaKey: true }), 'command-palette')
  assert.equal(k('n', { ctrlKey: true }), 'new-document')
  assert.equal(k('I', { ctrlKey: true, shiftKey: true }), 'invite')
  assert.equal(k('i', { ctrlKey: true }), null)
  assert.equal(k('F', { ctrlKey: true, shiftKey: true }), 'search')
  assert.equal(k('f', { ctrlKey: true }), null, "Ctrl+F is the editor's own find")
  assert.equal(k('k'), null)
  assert.equal(k('k', { ctrlKey: true, altKey: true }), null)
})

test('throttle: first call at once, the last of a burst after the interval, flush sends it now', async () => {
  const calls: number[] = []
  const t = throttle((n: number) => calls.push(n), 40)
  t(1)
  t(2)
  t(3)
  assert.deepEqual(calls, [1])
  await new Promise((r) => setTimeout(r, 60))
  assert.deepEqual(calls, [1, 3])
  t(4)
  t.flush()
  assert.deepEqual(calls, [1, 3, 4])
  t(5)
  t.cancel()
  await new Promise((r) => setTimeout(r, 60))
  assert.deepEqual(calls, [1, 3, 4])
})

test('shortcut labels per platform', async () => {
  const { shortcutLabel } = await import('./platform.ts')
  assert.equal(shortcutLabel('Mod+K', false), 'Ctrl+K')
  assert.equal(shortcutLabel('Mod+Shift+I', false), 'Ctrl+Shift+I')
  assert.equal(shortcutLabel('Mod+K', true), '⌘K')
  assert.equal(shortcutLabel('Mod+Shift+I', true), '⇧⌘I')
})

test('export and import in the app: a document as its text under a safe name, a workspace as a .zip that plans back to the same documents', async () => {
  const docs = [
    { id: 'a1', title: 'Road: map?', text: '# Road\n' },
    { id: 'b2', title: 'Notes', text: 'é😀' },
  ]
  // A stand-in for the peer (one piece, for this unit): doc.list and doc.read as the protocol has them.
  const client = {
    request: async (method: string, params: { docId?: string }) => {
      if (method === 'doc.list') return docs.map((d) => ({ id: d.id, createdAt: 1, lastChangeAt: 2 }))
      if (method === 'doc.read') return docs.find((d) => d.id === params.docId)
      throw new Error(method)
    },
    onEvent: () => () => {},
  } as unknown as PeerClient
  const one = await exportDocument(client, 'a1')
  assert.equal(one.name, 'Road- map-.md')
  assert.equal(await one.blob.text(), '# Road\n')

  const progress: string[] = []
  const ws = { id: 'w', name: 'Team/One', role: 'owner', ownerId: 'o', createdAt: 1, memberCount: 1 } as WorkspaceInfo
  const zip = await exportWorkspace(client, ws, (done, total) => progress.push(`${done}/${total}`))
  assert.equal(zip.name, 'Team-One.zip')
  assert.deepEqual(progress, ['0/2', '1/2', '2/2'])
  const entries = unzipSync(new Uint8Array(await zip.blob.arrayBuffer()))
  const files = Object.entries(entries).map(([path, bytes]) => new File([bytes], path.split('/').pop()!))
  const plan = await planImport(files)
  assert.deepEqual(plan.items.map((i) => [i.title, i.text]).sort(), docs.map((d) => [d.title, d.text]).sort())
})
