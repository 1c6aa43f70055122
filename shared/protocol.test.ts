/**
 * The client protocol's schemas: every request, event and result accepts a well-formed sample and
 * refuses the typical bad ones. The samples are typed by method and by event type, so a new one
 * does not compile until it has a sample here.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decode, encode } from 'cborg'
import { clientEventSchema, parseEvent, type ClientEvent } from './events.ts'
import {
  MAX_CARD_DESCRIPTION_CHARS,
  MAX_CHANGE_BYTES,
  MAX_CHANGES_PER_MESSAGE,
  MAX_INVITE_CODE_CHARS,
  MAX_LIST_EVENT_DOCS,
  MAX_LIST_REQUEST_DOCS,
  MAX_NAME_CHARS,
  MAX_SEARCH_QUERY_CHARS,
  MAX_TEXT_CHARS,
  MAX_TITLE_CHARS,
} from './limits.ts'
import {
  clientRequestSchemas,
  clientResultSchemas,
  isTooLarge,
  type ClientMethod,
  type ClientParams,
  type ClientResults,
} from './protocol.ts'
import type { JoinRequestInfo, PresenceInfo } from './types.ts'

const ws = 'f3a9c1d2e4b5a6978877665544332211'
const docId = '0123456789abcdef0123456789abcdef'
const device = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
const other = '12D3KooWBmAwcd4PJNJvfV89HwE48nwkRmAgo8Vy3uQEyNNHBox2'
const head = 'ab'.repeat(32)
const cursor = { anchor: '3@aabbccdd', head: '9@aabbccdd' }
const show = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? `bytes(${x.byteLength})` : x))?.slice(0, 120) ?? String(v)

const session = {
  version: head,
  authorId: other,
  authorName: 'Ben',
  own: false,
  startedAt: 1,
  endedAt: 2,
  inserted: 10,
  deleted: 2,
  changes: 12,
  retitled: false,
  authorUtcOffsetMinutes: 480,
}

const requests: { [M in ClientMethod]: ClientParams<M> } = {
  'identity.get': {},
  'identity.setName': { name: 'Ana' },
  'workspace.list': {},
  'workspace.create': { name: 'Studio' },
  'workspace.members': { workspaceId: ws },
  'workspace.keys': { workspaceId: ws },
  'workspace.digest': { workspaceId: ws, since: 5 },
  'workspace.markAllRead': { workspaceId: ws },
  'workspace.invite': { workspaceId: ws, ttlMs: 3_600_000, role: 'viewer', approve: true },
  'invite.list': { workspaceId: ws, includeClosed: true },
  'invite.revoke': { inviteId: '0123456789abcdef' },
  'invite.inspect': { code: 'GV1.abc' },
  'join.requests': {},
  'join.decide': { requestId: 'a1b2c3d4e5f60708', accept: true },
  'workspace.join': { code: 'grapevine://join/GV1.abc', name: 'Ben' },
  'workspace.leave': { workspaceId: ws },
  'member.remove': { workspaceId: ws, deviceId: other },
  'member.setRole': { workspaceId: ws, deviceId: other, role: 'viewer' },
  'doc.list': { workspaceId: ws, includeDeleted: true, docIds: [docId] },
  'doc.create': { workspaceId: ws, title: 'Plan', text: '# Plan' },
  'doc.rename': { docId, title: '' },
  'doc.delete': { docId },
  'doc.read': { docId },
  'doc.setText': { docId, text: 'hello' },
  'doc.open': { docId },
  'doc.close': { docId },
  'doc.applyChanges': { docId, changes: [new Uint8Array([1, 2, 3])] },
  'doc.syncStatus': { docId },
  'doc.markRead': { docId },
  'session.configure': { events: 'open-docs' },
  'presence.set': { workspaceId: ws, docId, cursor },
  'presence.list': { workspaceId: ws },
  'peer.list': {},
  'peer.dial': { address: `/ip4/127.0.0.1/tcp/4001/p2p/${device}` },
  'network.info': {},
  'doc.history': { docId, before: 5, limit: 20 },
  'doc.version': { docId, version: head.slice(0, 8) },
  'doc.restore': { docId, version: head },
  'search.query': { query: 'plan', workspaceId: ws, limit: 10 },
  'search.rebuild': {},
  'board.create': { workspaceId: ws, title: 'Sprint', columns: ['To do', 'Done'] },
  'board.read': { docId },
  'card.add': { docId, title: 'Ship it', column: 'c0ffee', assignee: other, due: '2027-01-31', labels: ['p1'], before: 'beef' },
  'card.update': { docId, cardId: 'beef', title: 'Ship', description: 'soon', assignee: null, due: null, labels: [] },
  'card.move': { docId, cardId: 'beef', column: 'c0ffee', index: 0 },
  'card.delete': { docId, cardId: 'beef' },
  'column.add': { docId, name: 'Review', index: 1 },
  'column.rename': { docId, columnId: 'c0ffee', name: 'Later' },
  'column.move': { docId, columnId: 'c0ffee', index: 0 },
  'column.delete': { docId, columnId: 'c0ffee' },
  'tasks.mine': {},
}

const methods = Object.keys(clientRequestSchemas) as ClientMethod[]
const parseRequest = (method: ClientMethod, params: unknown) => clientRequestSchemas[method].safeParse(params)

describe('request schemas', () => {
  it('accept a well-formed request of every method', () => {
    for (const m of methods) assert.ok(parseRequest(m, requests[m]).success, m)
  })

  it('refuse params that are not an object', () => {
    for (const m of methods)
      for (const bad of [null, undefined, 'x', 42, [requests[m]]]) assert.ok(!parseRequest(m, bad).success, `${m} ${show(bad)}`)
  })

  it('refuse a malformed or oversized id wherever one is expected', () => {
    const badIds: unknown[] = ['', '../../etc/passwd', 'a b', 'a/b', 'é', 'x'.repeat(129), 42, null, undefined]
    let checked = 0
    for (const m of methods) {
      for (const key of Object.keys(requests[m]).filter((k) => /Id$/.test(k))) {
        for (const bad of badIds) {
          // docId may be null in presence.set (no document open)
          if (bad === null && m === 'presence.set' && key === 'docId') continue
          // workspaceId may be left out of search.query (every workspace)
          if (bad === undefined && m === 'search.query' && key === 'workspaceId') continue
          assert.ok(!parseRequest(m, { ...requests[m], [key]: bad }).success, `${m}.${key} = ${show(bad)}`)
          checked++
        }
      }
    }
    assert.ok(checked > 100)
  })

  it('refuse the typical bad values', () => {
    const cases: [ClientMethod, Record<string, unknown>][] = [
      ['identity.setName', { name: '' }],
      ['identity.setName', { name: '   ' }],
      ['identity.setName', { name: 'x'.repeat(MAX_NAME_CHARS + 1) }],
      ['workspace.create', { name: 7 }],
      ['workspace.invite', { workspaceId: ws, ttlMs: 10 }],
      ['workspace.invite', { workspaceId: ws, ttlMs: 1.5e12 }],
      ['workspace.invite', { workspaceId: ws, ttlMs: 60_000.5 }],
      ['workspace.invite', { workspaceId: ws, role: 'owner' }],
      ['workspace.invite', { workspaceId: ws, role: 'god' }],
      ['workspace.invite', { workspaceId: ws, approve: 'yes' }],
      ['workspace.invite', { workspaceId: ws, ttlMs: 7 * 24 * 3600 * 1000 + 1 }],
      ['invite.list', { workspaceId: ws, includeClosed: 'yes' }],
      ['invite.revoke', {}],
      ['member.remove', { workspaceId: ws }],
      ['member.remove', { workspaceId: ws, deviceId: 'not a device' }],
      ['member.setRole', { workspaceId: ws, deviceId: other }],
      ['member.setRole', { workspaceId: ws, deviceId: other, role: 'owner' }],
      ['member.setRole', { workspaceId: ws, deviceId: other, role: 'god' }],
      ['workspace.leave', {}],
      ['invite.inspect', { code: '' }],
      ['workspace.join', { code: 'x'.repeat(MAX_INVITE_CODE_CHARS + 1) }],
      ['workspace.join', { code: 'GV1.abc', name: '' }],
      ['join.decide', { requestId: 'r1' }],
      ['doc.list', { workspaceId: ws, includeDeleted: 1 }],
      ['doc.list', { workspaceId: ws, docIds: [] }],
      ['doc.list', { workspaceId: ws, docIds: ['../x'] }],
      ['doc.list', { workspaceId: ws, docIds: Array.from({ length: MAX_LIST_REQUEST_DOCS + 1 }, () => docId) }],
      ['doc.create', { workspaceId: ws }],
      ['doc.create', { workspaceId: ws, title: 'x'.repeat(MAX_TITLE_CHARS + 1) }],
      ['doc.setText', { docId }],
      ['doc.setText', { docId, text: 5 }],
      ['doc.applyChanges', { docId, changes: [] }],
      ['doc.applyChanges', { docId, changes: ['not bytes'] }],
      ['doc.applyChanges', { docId, changes: [[1, 2, 3]] }],
      ['doc.applyChanges', { docId, changes: new Uint8Array(4) }],
      ['doc.applyChanges', { docId, changes: Array.from({ length: MAX_CHANGES_PER_MESSAGE + 1 }, () => new Uint8Array(1)) }],
      ['presence.set', { workspaceId: ws, docId }],
      ['presence.set', { workspaceId: ws, docId, cursor: { anchor: 1, head: 'x' } }],
      ['presence.set', { workspaceId: ws, docId, cursor: { anchor: 'x'.repeat(129), head: 'x' } }],
      ['doc.version', { docId, version: 'abc12' }],
      ['doc.version', { docId, version: 'ab'.repeat(33) }],
      ['doc.version', { docId, version: 'abcdefg' }],
      ['doc.version', { docId, version: "ab%'--" }],
      ['doc.restore', { docId, version: '' }],
      ['doc.history', { docId, limit: 0 }],
      ['doc.history', { docId, limit: 201 }],
      ['doc.history', { docId, before: -1 }],
      ['peer.dial', { address: '' }],
      ['peer.dial', { address: 'x'.repeat(513) }],
      ['board.create', { workspaceId: ws, title: 'B', columns: [] }],
      ['board.create', { workspaceId: ws, title: 'B', columns: [' '] }],
      ['card.add', { docId, title: '' }],
      ['card.add', { docId, title: 'x', due: '2027-02-30' }],
      ['card.add', { docId, title: 'x', due: 'tomorrow' }],
      ['card.add', { docId, title: 'x', assignee: 'not a device' }],
      ['card.add', { docId, title: 'x', labels: [''] }],
      ['card.add', { docId, title: 'x', labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }],
      ['card.add', { docId, title: 'x', before: 'a', after: 'b' }],
      ['card.move', { docId, cardId: 'beef' }],
      ['card.move', { docId, cardId: 'beef', column: 'c0ffee', index: -1 }],
      ['card.move', { docId, cardId: 'beef', column: 'c0ffee', index: 1, before: 'a' }],
      ['card.update', { docId, cardId: 'beef', title: ' ' }],
      ['column.add', { docId, name: '' }],
      ['column.move', { docId, columnId: 'c0ffee' }],
    ]
    for (const [m, params] of cases) {
      const r = parseRequest(m, params)
      assert.ok(!r.success, `${m} ${show(params)}`)
      assert.ok(!r.error.issues.some(isTooLarge), `${m} ${show(params)} is malformed, not too large`)
    }
  })

  it('mark what a person sent too much of as too large', () => {
    const cases: [ClientMethod, Record<string, unknown>][] = [
      ['doc.setText', { docId, text: 'x'.repeat(MAX_TEXT_CHARS + 1) }],
      ['search.query', { query: 'x'.repeat(MAX_SEARCH_QUERY_CHARS + 1) }],
      ['doc.create', { workspaceId: ws, title: 'Big', text: 'x'.repeat(MAX_TEXT_CHARS + 1) }],
      ['doc.applyChanges', { docId, changes: [new Uint8Array(1), new Uint8Array(MAX_CHANGE_BYTES + 1)] }],
      ['card.add', { docId, title: 'x', description: 'x'.repeat(MAX_CARD_DESCRIPTION_CHARS + 1) }],
      ['card.update', { docId, cardId: 'beef', description: 'x'.repeat(MAX_CARD_DESCRIPTION_CHARS + 1) }],
    ]
    for (const [m, params] of cases) {
      const r = parseRequest(m, params)
      assert.ok(!r.success && isTooLarge(r.error.issues[0]!), `${m} ${show(params)}`)
    }
    assert.ok(parseRequest('doc.setText', { docId, text: 'x'.repeat(MAX_TEXT_CHARS) }).success, 'exactly at the cap')
  })

  it('accept keeper as a role to invite with or give', () => {
    assert.ok(parseRequest('workspace.invite', { workspaceId: ws, role: 'keeper' }).success)
    assert.ok(parseRequest('member.setRole', { workspaceId: ws, deviceId: other, role: 'keeper' }).success)
  })

  it('trim names and invite codes', () => {
    assert.deepEqual(clientRequestSchemas['workspace.create'].parse({ name: '  Studio ' }), { name: 'Studio' })
    assert.deepEqual(clientRequestSchemas['invite.inspect'].parse({ code: ' GV1.abc\n' }), { code: 'GV1.abc' })
  })
})

const presence: PresenceInfo = { workspaceId: ws, deviceId: other, name: 'Ben', docId, cursor, utcOffsetMinutes: 60, at: 1_700_000_000_000 }
const joinRequest: JoinRequestInfo = {
  requestId: 'a1b2c3d4e5f60708',
  inviteId: '0123456789abcdef',
  workspaceId: ws,
  workspaceName: 'Studio',
  deviceId: other,
  name: 'Ben',
  safetyWords: 'apple brave cloud delta eagle forest',
}
const events: { [T in ClientEvent['type']]: Extract<ClientEvent, { type: T }> } = {
  'doc.changes': { type: 'doc.changes', docId, changes: [new Uint8Array([1, 2])] },
  'doc.list': { type: 'doc.list', workspaceId: ws, docIds: [docId] },
  'doc.sync': { type: 'doc.sync', docId },
  'workspace.list': { type: 'workspace.list' },
  'workspace.members': { type: 'workspace.members', workspaceId: ws },
  'peer.list': { type: 'peer.list' },
  presence: { type: 'presence', presence },
  'join.request': { type: 'join.request', request: joinRequest },
  'join.settled': { type: 'join.settled', requestId: 'a1b2c3d4e5f60708', workspaceId: ws, outcome: 'revoked' },
  'invite.list': { type: 'invite.list', workspaceId: ws },
  'doc.activity': { type: 'doc.activity', workspaceId: ws, docId, title: 'Plan', by: other, byName: null },
  log: { type: 'log', level: 'warn', message: 'catch-up with Ben failed' },
}

describe('event schemas', () => {
  it('accept a well-formed event of every type, unchanged', () => {
    for (const e of Object.values(events)) assert.deepEqual(parseEvent(e), e, e.type)
    assert.equal(clientEventSchema.options.length, Object.keys(events).length)
  })

  it('accept a listing event that names no documents (any may have changed)', () => {
    assert.deepEqual(parseEvent({ type: 'doc.list', workspaceId: ws }), { type: 'doc.list', workspaceId: ws })
  })

  it('accept a presence that has expired (no document, no cursor)', () => {
    assert.ok(parseEvent({ type: 'presence', presence: { ...presence, docId: null, cursor: null } }))
  })

  it('drop malformed events whole', () => {
    const bad: unknown[] = [
      null,
      'doc.list',
      {},
      { type: 'nope' },
      { type: 'doc.list' },
      { type: 'doc.list', workspaceId: 7 },
      { type: 'doc.list', workspaceId: '../x' },
      { type: 'doc.list', workspaceId: ws, docIds: [7] },
      { type: 'doc.list', workspaceId: ws, docIds: Array.from({ length: MAX_LIST_EVENT_DOCS + 1 }, () => docId) },
      { type: 'doc.sync', docId: 'x'.repeat(129) },
      { type: 'doc.changes', docId, changes: ['not bytes'] },
      { type: 'doc.changes', docId, changes: [new Uint8Array(MAX_CHANGE_BYTES + 1)] },
      { type: 'doc.changes', docId, changes: Array.from({ length: 10_001 }, () => new Uint8Array(1)) },
      { type: 'presence', presence: { ...presence, utcOffsetMinutes: 'x' } },
      { type: 'presence', presence: { ...presence, utcOffsetMinutes: 17 * 60 } },
      { type: 'presence', presence: { ...presence, cursor: { anchor: 1 } } },
      { type: 'presence', presence: { ...presence, deviceId: 'not a device id' } },
      { type: 'presence', presence: { ...presence, name: 'x'.repeat(MAX_NAME_CHARS * 4 + 1) } },
      { type: 'join.request', request: { requestId: 'r' } },
      { type: 'join.settled', requestId: 'a1b2c3d4e5f60708', workspaceId: ws, outcome: 'maybe' },
      { type: 'invite.list' },
      { type: 'join.request', request: { ...joinRequest, safetyWords: 'w'.repeat(401) } },
      { type: 'doc.activity', workspaceId: ws, docId, title: 'x'.repeat(MAX_TITLE_CHARS * 4 + 1), by: other, byName: null },
      { type: 'doc.activity', workspaceId: ws, docId, title: 'Plan', by: other },
      { type: 'log', level: 'fatal', message: 'x' },
      { type: 'log', level: 'info', message: 'x'.repeat(10_001) },
    ]
    for (const e of bad) assert.equal(parseEvent(e), null, show(e))
  })
})

const workspace = { id: ws, name: 'Studio', role: 'owner', ownerId: device, createdAt: 1, memberCount: 2 } as const
const summary = {
  id: docId,
  workspaceId: ws,
  title: 'Plan',
  createdAt: 1,
  lastChangeAt: 2,
  lastChangeBy: other,
  lastChangeByName: 'Ben',
  deleted: false,
  unread: true,
  kind: 'text' as const,
}
const card = {
  id: 'beef',
  title: 'Ship it',
  description: '',
  column: 'c0ffee',
  pos: 'V',
  assignee: other,
  due: '2027-01-31',
  labels: ['p1'],
  createdAt: 1,
  createdBy: device,
  clipped: false,
}
const board = {
  docId,
  workspaceId: ws,
  heads: [head],
  title: 'Sprint',
  deleted: false,
  hidden: 0,
  columns: [{ id: 'c0ffee', name: 'To do', pos: 'V', implicit: false, cards: [card] }],
}
const peerInfo = {
  peerId: other,
  name: 'Ben',
  member: true,
  online: false,
  addresses: ['/ip4/10.0.0.2/tcp/4001'],
  how: null,
  relayedBy: null,
  relayedByName: null,
  unreachable: 'Not reachable at its addresses: it may be offline.',
  rttMs: 12.5,
  behind: [{ docId, title: 'Plan' }],
  behindCount: 1,
  lastSeen: 5,
  lastSyncAt: null,
}
const me = { deviceId: device, name: 'Ana', safetyWords: 'apple brave cloud delta eagle forest' }
const invite = {
  id: '0123456789abcdef',
  workspaceId: ws,
  role: 'editor',
  createdAt: 1,
  expiresAt: 9,
  needsApproval: true,
  state: 'open',
  closedAt: null,
  by: null,
  byName: null,
} as const
const keeperMember = {
  deviceId: other,
  name: 'Shelf',
  role: 'keeper',
  safetyWords: 'd e f',
  addedBy: device,
  addedAt: 2,
  online: true,
  lastSeen: 4,
  self: false,
  key: 'never',
} as const
const keyStatus = {
  epochId: 'e2',
  since: 7,
  dropped: [{ deviceId: other, name: 'Ben' }],
  readers: 2,
  confirmed: 1,
  waiting: [{ deviceId: other, name: 'Cat', online: false, lastSeen: 6 }],
}
const results: { [M in ClientMethod]: ClientResults[M] } = {
  'identity.get': me,
  'identity.setName': me,
  'workspace.list': [workspace],
  'workspace.create': workspace,
  'workspace.members': [
    {
      deviceId: device,
      name: 'Ana',
      role: 'owner',
      safetyWords: 'a b c',
      addedBy: device,
      addedAt: 1,
      online: true,
      lastSeen: null,
      self: true,
      key: 'current',
    },
    { ...keeperMember },
  ],
  'workspace.keys': keyStatus,
  'workspace.invite': {
    id: '0123456789abcdef',
    workspaceId: ws,
    code: 'GV1.abc',
    link: 'grapevine://join/GV1.abc',
    expiresAt: 9,
    role: 'editor',
    needsApproval: true,
  },
  'invite.list': [invite, { ...invite, state: 'used', closedAt: 5, by: other, byName: 'Ben' }],
  'invite.revoke': { ...invite, state: 'revoked', closedAt: 5 },
  'join.requests': [joinRequest],
  'workspace.leave': { workspaceId: ws, teammates: 2, told: 1 },
  'member.remove': { workspaceId: ws, deviceId: other, keys: keyStatus },
  'member.setRole': {
    deviceId: other,
    name: 'Ben',
    role: 'viewer',
    safetyWords: 'a b c',
    addedBy: device,
    addedAt: 1,
    online: false,
    lastSeen: 3,
    self: false,
    key: 'waiting',
  },
  'invite.inspect': {
    workspaceId: ws,
    workspaceName: 'Studio',
    inviterId: device,
    inviterSafetyWords: 'a b',
    expiresAt: 9,
    needsApproval: false,
    mySafetyWords: 'c d',
  },
  'join.decide': { requestId: 'a1b2c3d4e5f60708', accepted: false },
  'workspace.join': workspace,
  'doc.list': [summary, { ...summary, lastChangeBy: null, lastChangeByName: null, deleted: true }],
  'doc.create': summary,
  'doc.rename': summary,
  'doc.delete': summary,
  'doc.read': { docId, title: 'Plan', text: '# Plan\n', heads: [head] },
  'doc.setText': { heads: [head, 'cd'.repeat(32)] },
  'doc.open': { docId, bytes: new Uint8Array([0x85, 0x6f, 0x4a, 0x83]), heads: [], actor: 'ab'.repeat(24), readHeads: [head] },
  'doc.close': { closed: true },
  'doc.applyChanges': { heads: [head] },
  'doc.syncStatus': {
    docId,
    heads: [head],
    savedLocally: true,
    upToDate: [other],
    otherMembers: 1,
    waitingChanges: 0,
    lastOwnEditAt: 5,
    receipts: [
      { deviceId: other, name: 'Ben', upToDate: true, yourEditsAsOf: 5, lacking: 0, online: false, lastSeen: 6, utcOffsetMinutes: 480 },
    ],
  },
  'doc.markRead': { docId },
  'session.configure': { events: 'open-docs' },
  'presence.set': { ok: true },
  'presence.list': [presence],
  'peer.list': [peerInfo],
  'peer.dial': peerInfo,
  'network.info': {
    peerId: device,
    listenAddresses: ['/ip4/127.0.0.1/tcp/4001'],
    connections: 1,
    portMapping: { state: 'not-needed', text: 'Nothing to forward.' },
    reachability: { state: 'local', text: 'Listening on this machine only.' },
  },
  'search.query': [
    {
      docId,
      workspaceId: ws,
      title: 'Plan',
      parts: [
        { text: 'the ', hit: false },
        { text: 'plan', hit: true },
      ],
      at: 4,
    },
  ],
  'doc.history': { sessions: [session], more: true },
  'workspace.digest': {
    workspaceId: ws,
    since: 5,
    documents: [
      {
        docId,
        title: 'Plan',
        created: false,
        deleted: false,
        authors: [{ deviceId: other, name: 'Ben', inserted: 4, deleted: 1, changes: 2 }],
        passages: [{ from: 0, to: 4, authors: ['Ben', 'Cat'], excerpt: 'the plan' }],
        compared: true,
        readHeads: [head],
      },
    ],
    members: [{ deviceId: other, name: 'Cat', role: 'editor', addedAt: 6 }],
  },
  'workspace.markAllRead': { documents: 3 },
  'doc.version': {
    docId,
    version: head,
    session,
    title: 'Plan',
    text: 'the plan',
    titleNow: 'Plan',
    removed: [[0, 4]],
    added: [{ at: 8, text: '!' }],
  },
  'doc.restore': { heads: [head] },
  'search.rebuild': { documents: 3 },
  'board.create': { ...summary, kind: 'board' },
  'board.read': board,
  'card.add': { cardId: 'beef', board },
  'card.update': { cardId: 'beef', board },
  'card.move': { cardId: 'beef', board },
  'card.delete': { cardId: 'beef', board },
  'column.add': { columnId: 'c0ffee', board },
  'column.rename': { columnId: 'c0ffee', board },
  'column.move': { columnId: 'c0ffee', board },
  'column.delete': { columnId: 'c0ffee', moved: 1, board },
  'tasks.mine': [{ workspaceId: ws, docId, boardTitle: 'Sprint', columnId: 'c0ffee', columnName: 'To do', card }],
}

describe('result schemas', () => {
  it('round-trip a result of every method through CBOR, unchanged', () => {
    for (const m of methods) {
      const wire = decode(encode(results[m]))
      assert.deepEqual(clientResultSchemas[m].parse(wire), results[m], m)
    }
  })

  it('refuse results of the wrong shape', () => {
    const cases: [ClientMethod, unknown][] = [
      ['identity.get', { ...me, deviceId: 'x' }],
      ['workspace.list', workspace],
      ['workspace.create', { ...workspace, role: 'god' }],
      ['workspace.create', { ...workspace, memberCount: -1 }],
      ['doc.list', [{ ...summary, unread: undefined }]],
      ['doc.read', { docId, title: 'Plan', text: 'x', heads: ['not-a-hash'] }],
      ['doc.open', { docId, bytes: [1, 2], heads: [], actor: 'ab' }],
      ['doc.open', { docId, bytes: new Uint8Array(1), heads: [], actor: 'not hex' }],
      ['presence.set', { ok: false }],
      ['presence.list', [{ ...presence, cursor: { anchor: 'a' } }]],
      ['peer.list', [{ ...peerInfo, addresses: 'x' }]],
      ['network.info', { peerId: device, listenAddresses: [], connections: 1.5 }],
      ['invite.list', [{ ...invite, state: 'lost' }]],
      ['invite.revoke', { ...invite, by: 'not a device' }],
      ['workspace.leave', { workspaceId: ws, teammates: 1, told: -1 }],
      ['member.setRole', { ...me, role: 'viewer' }],
      ['workspace.members', [{ ...keeperMember, key: 'maybe' }]],
      ['workspace.members', [{ ...keeperMember, key: undefined }]],
      ['workspace.keys', { ...keyStatus, readers: -1 }],
      ['workspace.keys', { ...keyStatus, epochId: undefined }],
      ['workspace.keys', { ...keyStatus, waiting: [{ deviceId: other, name: 'Cat', online: false }] }],
      ['member.remove', { workspaceId: ws, deviceId: other }],
      ['search.query', [{ docId, workspaceId: ws, title: 'Plan', parts: [{ text: 'x' }], at: 0 }]],
      ['search.query', [{ docId, workspaceId: ws, title: 'Plan', parts: [], at: -1 }]],
      ['search.rebuild', { documents: 1.5 }],
      ['doc.history', { sessions: [{ ...session, version: 'abc' }], more: false }],
      ['workspace.digest', { ...results['workspace.digest'], members: [{ deviceId: 'x', name: 'Cat', role: 'editor', addedAt: 6 }] }],
      ['workspace.digest', { ...results['workspace.digest'], since: undefined }],
      ['doc.history', { sessions: [{ ...session, authorId: 'x' }], more: false }],
      ['doc.history', { sessions: [{ ...session, inserted: -1 }], more: false }],
      ['doc.version', { ...results['doc.version'], removed: [[0]] }],
      ['doc.version', { ...results['doc.version'], added: [{ at: -1, text: 'x' }] }],
      ['doc.list', [{ ...summary, kind: 'spreadsheet' }]],
      ['board.read', { ...board, columns: [{ id: 'c0ffee', name: 'x', pos: null, cards: [] }] }],
      [
        'card.add',
        {
          cardId: 'beef',
          board: { ...board, columns: [{ id: 'c0ffee', name: 'x', pos: null, implicit: false, cards: [{ ...card, labels: 'p1' }] }] },
        },
      ],
      ['tasks.mine', [{ workspaceId: ws, docId, boardTitle: 'Sprint', columnId: 'c0ffee', columnName: 'To do' }]],
    ]
    // A summary from an older peer (no kind) reads as a text document.
    const { kind: _, ...old } = summary
    assert.equal(clientResultSchemas['doc.create'].parse(old).kind, 'text')
    for (const [m, result] of cases) assert.ok(!clientResultSchemas[m].safeParse(result).success, `${m} ${show(result)}`)
  })
})
