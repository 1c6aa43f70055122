/**
 * Invites through the client protocol, between real peers on 127.0.0.1: approval by default, the
 * list of invites and their states, revocation, declined joins using an invite up, the 7-day cap,
 * admin invites only from the owner, and a workspace invited to as soon as it is listed. Each test can
 * run alone.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { ClientEvent, PeerClient } from '../../../shared/protocol.ts'
import { MAX_INVITE_TTL_MS } from '../../../shared/limits.ts'
import type { Peer } from '../peer.ts'
import { decodeInvite } from '../workspace/invites.ts'
import { startPeer, tempDir, waitFor } from './helpers.ts'
import { rejectsWith, stopAll, type Dir } from './attacker.ts'

describe('invite lifecycle', () => {
  const dirs: Dir[] = []
  let ana: Peer | undefined
  let ben: Peer | undefined
  let a: PeerClient
  let ws: string
  const events: ClientEvent[] = []
  /** Peers that joined or tried to; each test makes its own. */
  const others: Peer[] = []

  before(async () => {
    for (let i = 0; i < 2; i++) dirs.push(tempDir())
    ana = await startPeer(dirs[0]!.path, { name: 'Ana' })
    ben = await startPeer(dirs[1]!.path, { name: 'Ben' })
    a = ana.connect()
    a.onEvent((e) => events.push(e))
    ws = (await a.request('workspace.create', { name: 'Studio' })).id
  })

  after(async () => stopAll([ana, ben, ...others], dirs))

  async function newcomer(name: string): Promise<{ peer: Peer; c: PeerClient }> {
    const dir = tempDir()
    dirs.push(dir)
    const peer = await startPeer(dir.path, { name })
    others.push(peer)
    return { peer, c: peer.connect() }
  }

  /** The next join request at Ana from `deviceId`, as an event. */
  const requestFrom = (deviceId: string) =>
    waitFor(`a join request from ${deviceId}`, () => {
      const e = events.find((x) => x.type === 'join.request' && x.request.deviceId === deviceId)
      return e?.type === 'join.request' ? e.request : undefined
    })

  const settled = (requestId: string) =>
    waitFor('the request to settle', () => {
      const e = events.find((x) => x.type === 'join.settled' && x.requestId === requestId)
      return e?.type === 'join.settled' ? e.outcome : undefined
    })

  const outside = async (c: PeerClient, peer: Peer): Promise<void> => {
    assert.deepEqual(await c.request('workspace.list', {}), [])
    const members = await a.request('workspace.members', { workspaceId: ws })
    assert.ok(!members.some((m) => m.deviceId === peer.device.deviceId), 'not a member')
  }

  it('by default a join waits for join.decide; the request is listed with its invite', async () => {
    const { peer, c } = await newcomer('Dan')
    const invite = await a.request('workspace.invite', { workspaceId: ws })
    assert.equal(invite.needsApproval, true)
    assert.equal((await c.request('invite.inspect', { code: invite.code })).needsApproval, true)
    let done = false
    const joining = c.request('workspace.join', { code: invite.code }).finally(() => {
      done = true
    })
    const req = await requestFrom(peer.device.deviceId)
    assert.equal(req.inviteId, invite.id)
    assert.equal(req.safetyWords, (await c.request('identity.get', {})).safetyWords)
    assert.deepEqual(await a.request('join.requests', {}), [req])
    assert.equal(done, false, 'the join waits for a decision')
    await outside(c, peer)
    await a.request('join.decide', { requestId: req.requestId, accept: true })
    assert.equal((await joining).id, ws)
    assert.equal(await settled(req.requestId), 'accepted')
    assert.deepEqual(await a.request('join.requests', {}), [])
    const listed = (await a.request('invite.list', { workspaceId: ws, includeClosed: true })).find((i) => i.id === invite.id)
    assert.deepEqual(
      { state: listed?.state, by: listed?.by, byName: listed?.byName },
      { state: 'used', by: peer.device.deviceId, byName: 'Dan' },
    )
    assert.ok(!(await a.request('invite.list', { workspaceId: ws })).some((i) => i.id === invite.id), 'a used invite is not open')
  })

  it('a declined join uses the invite up: neither that device nor another can ask again with it', async () => {
    const { peer, c } = await newcomer('Eve')
    const invite = await a.request('workspace.invite', { workspaceId: ws })
    const joining = c.request('workspace.join', { code: invite.code })
    const req = await requestFrom(peer.device.deviceId)
    await a.request('join.decide', { requestId: req.requestId, accept: false })
    await rejectsWith(joining, ['forbidden'], 'declined join')
    assert.equal(await settled(req.requestId), 'declined')
    const listed = (await a.request('invite.list', { workspaceId: ws, includeClosed: true })).find((i) => i.id === invite.id)
    assert.deepEqual([listed?.state, listed?.by], ['declined', peer.device.deviceId])
    const requestsBefore = events.filter((e) => e.type === 'join.request').length
    const again = await rejectsWith(c.request('workspace.join', { code: invite.code }), ['invite-used'], 'asking again')
    assert.match(again.message, /declined/)
    const { c: other, peer: otherPeer } = await newcomer('Fay')
    await rejectsWith(other.request('workspace.join', { code: invite.code }), ['invite-used'], 'another device')
    assert.equal(events.filter((e) => e.type === 'join.request').length, requestsBefore, 'no new prompt at the inviter')
    await outside(c, peer)
    await outside(other, otherPeer)
  })

  it('invite.list shows open invites; a revoked invite admits no one, also a join that waits for approval', async () => {
    const { peer, c } = await newcomer('Gus')
    const bearer = await a.request('workspace.invite', { workspaceId: ws, approve: false, role: 'viewer', ttlMs: 3_600_000 })
    const approved = await a.request('workspace.invite', { workspaceId: ws })
    const open = await a.request('invite.list', { workspaceId: ws })
    assert.deepEqual(
      open.slice(0, 2).map((i) => [i.id, i.state, i.role, i.needsApproval, i.closedAt, i.by]),
      [
        [approved.id, 'open', 'editor', true, null, null],
        [bearer.id, 'open', 'viewer', false, null, null],
      ],
      'newest first',
    )
    assert.equal(open[1]!.expiresAt, bearer.expiresAt)
    assert.ok(open.every((i) => i.state === 'open'))

    const revoked = await a.request('invite.revoke', { inviteId: bearer.id })
    assert.equal(revoked.state, 'revoked')
    assert.ok(revoked.closedAt !== null)
    const refused = await rejectsWith(c.request('workspace.join', { code: bearer.code }), ['invite-used'], 'revoked bearer invite')
    assert.match(refused.message, /revoked/)
    await outside(c, peer)

    // Revoked while its join waits for approval: the join is refused and the prompt goes away.
    const joining = c.request('workspace.join', { code: approved.code })
    const req = await requestFrom(peer.device.deviceId)
    await a.request('invite.revoke', { inviteId: approved.id })
    const waitingRefused = await rejectsWith(joining, ['invite-used'], 'revoked while waiting')
    assert.match(waitingRefused.message, /revoked/)
    assert.equal(await settled(req.requestId), 'revoked')
    await rejectsWith(a.request('join.decide', { requestId: req.requestId, accept: true }), ['not-found'], 'deciding afterwards')
    await outside(c, peer)

    // Revoking again changes nothing; a used invite cannot be revoked; an unknown one is not found.
    assert.equal((await a.request('invite.revoke', { inviteId: bearer.id })).state, 'revoked')
    const { c: hal } = await newcomer('Hal')
    const used = await a.request('workspace.invite', { workspaceId: ws, approve: false })
    await hal.request('workspace.join', { code: used.code })
    await rejectsWith(a.request('invite.revoke', { inviteId: used.id }), ['conflict'], 'revoking a used invite')
    await rejectsWith(a.request('invite.revoke', { inviteId: 'ffffffffffffffff' }), ['not-found'], 'unknown invite')
    const all = await a.request('invite.list', { workspaceId: ws, includeClosed: true })
    const state = (id: string) => all.find((i) => i.id === id)?.state
    assert.deepEqual([state(bearer.id), state(approved.id), state(used.id)], ['revoked', 'revoked', 'used'])
    assert.ok(!(await a.request('invite.list', { workspaceId: ws })).some((i) => [bearer.id, approved.id, used.id].includes(i.id)))
    await rejectsWith(c.request('invite.list', { workspaceId: ws }), ['not-found'], 'a stranger lists invites')
    assert.ok(events.some((e) => e.type === 'invite.list' && e.workspaceId === ws))
  })

  it('an invite lives at most 7 days', async () => {
    await rejectsWith(a.request('workspace.invite', { workspaceId: ws, ttlMs: MAX_INVITE_TTL_MS + 1 }), ['bad-request'], '7 days and 1 ms')
    await rejectsWith(a.request('workspace.invite', { workspaceId: ws, ttlMs: 30 * 86_400_000 }), ['bad-request'], '30 days')
    assert.equal(MAX_INVITE_TTL_MS, 7 * 86_400_000)
    const before = Date.now()
    const week = await a.request('workspace.invite', { workspaceId: ws, ttlMs: MAX_INVITE_TTL_MS })
    assert.ok(week.expiresAt >= before + MAX_INVITE_TTL_MS && week.expiresAt <= Date.now() + MAX_INVITE_TTL_MS)
    const day = await a.request('workspace.invite', { workspaceId: ws })
    assert.ok(day.expiresAt <= Date.now() + 86_400_000, 'a day unless asked otherwise')
  })

  it('only the owner can make an admin invite', async () => {
    const b = ben!.connect()
    if (!(await b.request('workspace.list', {})).some((w) => w.id === ws)) {
      const invite = await a.request('workspace.invite', { workspaceId: ws, approve: false })
      await b.request('workspace.join', { code: invite.code })
    }
    await a.request('member.setRole', { workspaceId: ws, deviceId: ben!.device.deviceId, role: 'admin' })
    await waitFor('Ben to be an admin', async () => (await b.request('workspace.list', {}))[0]?.role === 'admin')
    await rejectsWith(b.request('workspace.invite', { workspaceId: ws, role: 'admin' }), ['forbidden'], 'an admin invites an admin')
    const editor = await b.request('workspace.invite', { workspaceId: ws, role: 'editor', approve: false })
    assert.equal(editor.role, 'editor')
    const admin = await a.request('workspace.invite', { workspaceId: ws, role: 'admin', approve: false })
    const { c } = await newcomer('Ivy')
    assert.equal((await c.request('workspace.join', { code: admin.code })).role, 'admin')
  })

  it('a workspace is listed with its name while it is being made, and an invite made at once carries that name', async () => {
    // The app shows a workspace once it is listed, before its sealed title is in (the first epoch's key
    // comes first), and a person can press Invite at once: the e2e test's invite once read "workspace 0433c442".
    const c = ana!.connect()
    const listed = new Promise<void>((resolve) => c.onEvent((e) => e.type === 'workspace.list' && resolve()))
    const creating = a.request('workspace.create', { name: 'Atelier' })
    await listed
    const made = (await c.request('workspace.list', {})).find((w) => w.id !== ws)
    assert.ok(made, 'listed before workspace.create answered')
    assert.equal(made.name, 'Atelier', 'listed with the name it was given')
    const members = await c.request('workspace.members', { workspaceId: made.id })
    assert.deepEqual(
      members.map((m) => m.name),
      ['Ana'],
    )
    const invite = await c.request('workspace.invite', { workspaceId: made.id, approve: false })
    assert.equal((await creating).id, made.id)
    assert.equal(decodeInvite(invite.code).name, 'Atelier', 'the invite carries the name')
    const { c: ivo } = await newcomer('Ivo')
    await ivo.request('workspace.join', { code: invite.code })
    await waitFor('the joiner to read the sealed name', async () =>
      (await ivo.request('workspace.list', {})).some((w) => w.id === made.id && w.name === 'Atelier'),
    )
  })
})
