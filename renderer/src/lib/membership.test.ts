import { test } from 'node:test'
import assert from 'node:assert/strict'
import { type InviteSummary, type Role, ROLES } from '../../../shared/types.ts'
import {
  cannotLeave,
  canManage,
  inviteLine,
  inviteRoles,
  INVITE_TTLS,
  leaveQuestion,
  leftMessage,
  openInvites,
  removalQuestion,
  removedFrom,
  removedMessage,
  ROLE_HINT,
  ROLE_LABEL,
  roleChoices,
} from './membership.ts'

const member = (role: Role, self = false) => ({ role, self })
const offered = (mine: Role, theirs: Role) => roleChoices(mine, member(theirs)).map((c) => c.role)

test('every role has a label and a hint; a keeper cannot read', () => {
  for (const r of ROLES) assert.ok(ROLE_LABEL[r] && ROLE_HINT[r], r)
  assert.equal(`${ROLE_LABEL.keeper} — ${ROLE_HINT.keeper}`, 'Keeper — stores and relays the workspace, encrypted; can’t read it')
})

test('only owners and admins manage members, never themselves or the owner', () => {
  assert.equal(canManage('owner', member('editor')), true)
  assert.equal(canManage('admin', member('viewer')), true)
  assert.equal(canManage('admin', member('admin')), true)
  assert.equal(canManage('admin', member('owner')), false)
  assert.equal(canManage('owner', member('owner', true)), false)
  assert.equal(canManage('admin', member('admin', true)), false)
  assert.equal(canManage('editor', member('viewer')), false)
  assert.equal(canManage('viewer', member('editor')), false)
  assert.equal(canManage('admin', member('keeper')), true)
  assert.equal(canManage('keeper', member('viewer')), false)
})

test('the owner offers admin, editor, viewer and keeper; an admin offers editor, viewer and keeper', () => {
  assert.deepEqual(offered('owner', 'editor'), ['admin', 'editor', 'viewer', 'keeper'])
  assert.deepEqual(offered('owner', 'admin'), ['admin', 'editor', 'viewer', 'keeper'])
  assert.deepEqual(offered('admin', 'editor'), ['editor', 'viewer', 'keeper'])
  assert.deepEqual(offered('admin', 'viewer'), ['editor', 'viewer', 'keeper'])
  assert.deepEqual(offered('admin', 'keeper'), ['editor', 'viewer', 'keeper'])
  assert.deepEqual(offered('keeper', 'viewer'), [], 'a keeper manages no one')
  // Another admin shows as admin (its current role) beside what this admin may give.
  const forAdmin = roleChoices('admin', member('admin'))
  assert.deepEqual(
    forAdmin.map((c) => [c.role, c.current, c.allowed]),
    [
      ['admin', true, false],
      ['editor', false, true],
      ['viewer', false, true],
      ['keeper', false, true],
    ],
  )
  assert.match(forAdmin[0]!.reason ?? '', /Only the owner/)
  assert.deepEqual(
    roleChoices('owner', member('viewer')).filter((c) => c.current),
    [{ role: 'viewer', current: true, allowed: true }],
  )
  assert.deepEqual(offered('editor', 'viewer'), [])
  assert.deepEqual(offered('owner', 'owner'), [])
})

test('invites: admin role only from the owner; keepers from admins too; expiry choices within 7 days', () => {
  assert.deepEqual(inviteRoles('owner'), ['viewer', 'editor', 'admin', 'keeper'])
  assert.deepEqual(inviteRoles('admin'), ['viewer', 'editor', 'keeper'])
  assert.deepEqual(
    INVITE_TTLS.map((t) => t.label),
    ['1 hour', '1 day', '7 days'],
  )
  assert.ok(INVITE_TTLS.every((t) => t.ms <= 7 * 24 * 3600_000))
})

test('the removal question says what removal does and what it does not do', () => {
  const q = removalQuestion('Ben', 'Studio')
  assert.equal(q.title, 'Remove Ben from Studio?')
  assert.match(q.message, /stops receiving anything new from Studio and cannot change it any more/)
  assert.match(q.message, /Ben keeps the copies of documents that are already on that device/)
  // Nothing about encryption or taking back what was sent: the code does neither yet.
  assert.doesNotMatch(`${q.message} ${q.note}`, /encrypt|cannot read|deleted from/i)
  assert.match(q.note, /offline/)
})

test('leaving: the question, who was told, and that the owner cannot leave', () => {
  assert.deepEqual(leaveQuestion('Studio'), {
    title: 'Leave Studio?',
    message: 'Your documents stay on this device but are no longer shown; to come back you need a new invite.',
  })
  assert.match(cannotLeave('owner') ?? '', /owner cannot leave/)
  assert.equal(cannotLeave('admin'), null)
  assert.equal(cannotLeave('viewer'), null)
  assert.equal(leftMessage('Studio', { teammates: 0, told: 0 }), 'You left Studio.')
  assert.equal(leftMessage('Studio', { teammates: 2, told: 2 }), 'You left Studio. Your teammates have been told.')
  assert.equal(
    leftMessage('Studio', { teammates: 3, told: 1 }),
    'You left Studio. 1 of 3 teammates has been told; the others learn it when they next connect to this device.',
  )
  assert.match(leftMessage('Studio', { teammates: 1, told: 0 }), /No teammate could be reached just now; they learn it/)
})

test('a workspace that disappears without this device leaving it was a removal', () => {
  const a = { id: 'a', name: 'Studio' }
  const b = { id: 'b', name: 'Home' }
  assert.deepEqual(removedFrom([a, b], [b], new Set()), [a])
  assert.deepEqual(removedFrom([a, b], [b], new Set(['a'])), [])
  assert.deepEqual(removedFrom([a], [a, b], new Set()), [])
  assert.match(removedMessage(['Studio']), /^You are no longer a member of Studio: an admin removed this device\./)
  assert.match(removedMessage(['Studio', 'Home', 'Lab']), /of Studio, Home and Lab:/)
})

test('invite lines and the open invites, newest first', () => {
  const now = 1_000_000_000
  const inv = (s: Partial<InviteSummary>): InviteSummary => ({
    id: 'i',
    workspaceId: 'w',
    role: 'editor',
    createdAt: now - 1000,
    expiresAt: now + 3 * 3600_000,
    needsApproval: true,
    state: 'open',
    closedAt: null,
    by: null,
    byName: null,
    ...s,
  })
  assert.equal(inviteLine(inv({}), now), 'Editor · asks you first · expires in 3 hours')
  assert.equal(inviteLine(inv({ role: 'viewer', needsApproval: false }), now), 'Viewer · joins without asking · expires in 3 hours')
  assert.equal(inviteLine(inv({ state: 'used', byName: 'Ben' }), now), 'Editor · asks you first · used by Ben')
  assert.equal(inviteLine(inv({ state: 'revoked' }), now), 'Editor · asks you first · revoked')
  assert.equal(inviteLine(inv({ expiresAt: now - 1 }), now), 'Editor · asks you first · expired')
  const list = [
    inv({ id: 'old', createdAt: now - 5000 }),
    inv({ id: 'used', state: 'used' }),
    inv({ id: 'stale', expiresAt: now }),
    inv({ id: 'new', createdAt: now - 10 }),
  ]
  assert.deepEqual(
    openInvites(list, now).map((i) => i.id),
    ['new', 'old'],
  )
})
