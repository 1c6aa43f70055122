/** Notifications only while unfocused, at most one per document per quiet period; the badge counts unread. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ClientEvent, PeerClient } from '../shared/protocol.ts'
import { ActivityNotifier, countUnread, notificationText } from './activity.ts'

function fakeClient(docs: Record<string, Array<{ unread: boolean; deleted?: boolean }>>) {
  const listeners = new Set<(e: ClientEvent) => void>()
  const client = {
    request: (async (method: string, params: { workspaceId?: string }) => {
      if (method === 'workspace.list') return Object.keys(docs).map((id) => ({ id }))
      if (method === 'doc.list') return docs[params.workspaceId!]!.map((d) => ({ deleted: false, ...d }))
      throw new Error(method)
    }) as PeerClient['request'],
    onEvent: (l: (e: ClientEvent) => void) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    emit: (e: ClientEvent) => {
      for (const l of listeners) l(e)
    },
    listeners,
  }
  return client
}
const activity = (docId: string, byName: string | null = 'Ana'): ClientEvent => ({
  type: 'doc.activity',
  workspaceId: 'w',
  docId,
  title: 'Plan',
  by: 'peer-a',
  byName,
})

function harness(focused: { value: boolean }) {
  const shown: Array<{ title: string; body: string; docId: string }> = []
  const badges: number[] = []
  const timers: Array<() => void> = []
  let now = 0
  const notifier = new ActivityNotifier({
    isAppFocused: () => focused.value,
    notify: (n) => shown.push(n),
    setBadge: (n) => badges.push(n),
    log: () => {},
    now: () => now,
    setTimer: (fn) => timers.push(fn),
  })
  return {
    notifier,
    shown,
    badges,
    flush: async () => {
      for (const t of timers.splice(0)) t()
      await new Promise((r) => setImmediate(r))
    },
    advance: (ms: number) => {
      now += ms
    },
  }
}

test('a teammate edit notifies only while no window has focus, once per document per minute', () => {
  const focused = { value: true }
  const h = harness(focused)
  const client = fakeClient({ w: [] })
  h.notifier.attach(client)
  client.emit(activity('d1'))
  assert.equal(h.shown.length, 0, 'focused: the person sees it already')
  focused.value = false
  client.emit(activity('d1'))
  client.emit(activity('d1'))
  client.emit(activity('d2', null))
  assert.deepEqual(h.shown, [
    { title: 'Plan', body: 'Ana edited this document.', docId: 'd1' },
    { title: 'Plan', body: 'A teammate edited this document.', docId: 'd2' },
  ])
  h.advance(61_000)
  client.emit(activity('d1'))
  assert.equal(h.shown.length, 3)
})

test("teammates' names and titles are cleaned before they reach the OS", () => {
  const t = notificationText({
    type: 'doc.activity',
    workspaceId: 'w',
    docId: 'd',
    title: `\u202eevil\u0007${'x'.repeat(500)}`,
    by: 'p',
    byName: 'Bob\nRoot',
  })
  assert.equal(t.title.length, 200)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for a control character that must be gone
  assert.doesNotMatch(t.title, /[\u202e\u0007]/)
  assert.equal(t.body, 'Bob Root edited this document.')
  assert.equal(notificationText({ type: 'doc.activity', workspaceId: 'w', docId: 'd', title: '  ', by: 'p', byName: '' }).title, 'Untitled')
})

test('the badge counts unread, not deleted documents in every workspace, once per burst of events', async () => {
  const h = harness({ value: false })
  const client = fakeClient({ w1: [{ unread: true }, { unread: false }, { unread: true, deleted: true }], w2: [{ unread: true }] })
  h.notifier.attach(client)
  client.emit({ type: 'doc.list', workspaceId: 'w1' })
  client.emit({ type: 'doc.sync', docId: 'x' })
  await h.flush()
  assert.deepEqual(h.badges, [2])
  assert.equal(await countUnread(client), 2)
})

test('detaching stops following the old client', () => {
  const h = harness({ value: false })
  const client = fakeClient({ w: [] })
  const off = h.notifier.attach(client)
  off()
  assert.equal(client.listeners.size, 0)
})
