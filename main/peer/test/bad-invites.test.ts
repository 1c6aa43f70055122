/**
 * Invites that must not work: garbage, expired, used, unreachable, forbidden. The joiner is never a member after.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decode } from 'cborg'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import { encodeInvite } from '../workspace/invites.ts'
import { encodeMessage, type InvitePayload } from '../wire/peer-protocol.ts'
import { startPeer, tempDir, waitFor } from './helpers.ts'
import { rejectsWith, stopAll, type Dir } from './attacker.ts'

describe('invites that must not work', () => {
  const dirs: Dir[] = []
  let owner: Peer | undefined
  let joiner: Peer | undefined
  let other: Peer | undefined
  let oc: PeerClient
  let jc: PeerClient
  let ws: string

  before(async () => {
    for (let i = 0; i < 3; i++) dirs.push(tempDir())
    owner = await startPeer(dirs[0]!.path, { name: 'Owner' })
    joiner = await startPeer(dirs[1]!.path, { name: 'Joiner' })
    other = await startPeer(dirs[2]!.path, { name: 'Other' })
    oc = owner.connect()
    jc = joiner.connect()
    ws = (await oc.request('workspace.create', { name: 'Team' })).id
  })

  after(async () => stopAll([owner, joiner, other], dirs))

  /** Makes `other` an editor of the workspace, unless it is one already (each test may run alone). */
  async function otherIsEditor(): Promise<void> {
    const members = await oc.request('workspace.members', { workspaceId: ws })
    if (members.some((m) => m.deviceId === other!.device.deviceId)) return
    const invite = await oc.request('workspace.invite', { workspaceId: ws, approve: false })
    const joined = await other!.connect().request('workspace.join', { code: invite.code })
    assert.equal(joined.role, 'editor')
  }

  /** The joiner belongs to nothing, and the owner's workspace does not list it. */
  async function assertJoinerOutside(): Promise<void> {
    assert.deepEqual(await jc.request('workspace.list', {}), [])
    const members = await oc.request('workspace.members', { workspaceId: ws })
    assert.ok(!members.some((m) => m.deviceId === joiner!.device.deviceId), 'the joiner must not be a member')
  }

  const payloadOf = (code: string): InvitePayload => decode(Buffer.from(code.replace(/^GV1\./, ''), 'base64url')) as InvitePayload
  const recode = (code: string, patch: Partial<InvitePayload>): string => encodeInvite({ ...payloadOf(code), ...patch }).code

  it('rejects garbage codes as invite-invalid', async () => {
    const b64 = (v: unknown) => Buffer.from(encodeMessage(v)).toString('base64url')
    const codes = [
      'hello',
      'GV1.',
      'GV1.!!!!',
      'GV2.AAAA',
      `GV1.${Buffer.from('garbage').toString('base64url')}`,
      'grapevine://join/nonsense',
      'grapevine://join/',
      `GV1.${b64({ v: 1 })}`,
      `GV1.${b64({ v: 1, ws: 'x', secret: 'y' })}`,
    ]
    for (const code of codes) await rejectsWith(jc.request('workspace.join', { code }), ['invite-invalid'], `code ${code}`)
    await assertJoinerOutside()
  })

  it('rejects a link with a broken percent-escape as invite-invalid', async () => {
    await rejectsWith(jc.request('workspace.join', { code: 'grapevine://join/GV1.%ZZ' }), ['invite-invalid'], 'bad escape')
    await assertJoinerOutside()
  })

  it('rejects a well-formed invite the inviter never issued, or with the wrong secret', async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws, approve: false })
    const secret = new Uint8Array(32).fill(7)
    await rejectsWith(jc.request('workspace.join', { code: recode(invite.code, { secret }) }), ['invite-invalid'], 'wrong secret')
    await rejectsWith(
      jc.request('workspace.join', { code: recode(invite.code, { invite: 'deadbeefdeadbeef' }) }),
      ['invite-invalid'],
      'unknown invite id',
    )
    await rejectsWith(
      jc.request('workspace.join', { code: recode(invite.code, { ws: 'f'.repeat(32) }) }),
      ['invite-invalid'],
      'other workspace',
    )
    await rejectsWith(
      jc.request('workspace.join', { code: recode(invite.code, { addrs: ['not a multiaddr'] }) }),
      ['invite-invalid'],
      'no address',
    )
    await assertJoinerOutside()
    // The genuine invite still works for someone else afterwards: the wrong guesses did not burn it.
    const dir = tempDir()
    const fresh = await startPeer(dir.path, { name: 'Fresh' })
    try {
      await fresh.connect().request('workspace.join', { code: invite.code })
      const members = await oc.request('workspace.members', { workspaceId: ws })
      assert.ok(members.some((m) => m.deviceId === fresh.device.deviceId))
    } finally {
      await fresh.stop()
      dir.remove()
    }
  })

  it('rejects an invite whose inviter id is not a device id as invite-invalid', async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws, approve: false })
    await rejectsWith(
      jc.request('workspace.join', { code: recode(invite.code, { inviter: 'NotAPeerIdAtAll1234' }) }),
      ['invite-invalid'],
      'bad inviter',
    )
    await assertJoinerOutside()
  })

  it('rejects an expired invite as invite-expired, also when its expiry was tampered with', async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws, approve: false, ttlMs: 1000 })
    await waitFor('the invite to expire', () => Date.now() > invite.expiresAt + 50, 5_000)
    await rejectsWith(jc.request('workspace.join', { code: invite.code }), ['invite-expired'], 'expired invite')
    // Pushing the expiry in the code forward does not help: the inviter keeps its own.
    const tampered = recode(invite.code, { exp: Date.now() + 60 * 60 * 1000 })
    await rejectsWith(jc.request('workspace.join', { code: tampered }), ['invite-expired'], 'tampered expiry')
    await assertJoinerOutside()
  })

  it('rejects an invite someone else already used as invite-used', async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws, approve: false, role: 'viewer' })
    const third = tempDir()
    const first = await startPeer(third.path, { name: 'First' })
    try {
      const joined = await first.connect().request('workspace.join', { code: invite.code })
      assert.equal(joined.role, 'viewer')
      await rejectsWith(jc.request('workspace.join', { code: invite.code }), ['invite-used'], 'reused invite')
      await rejectsWith(jc.request('workspace.join', { code: invite.link }), ['invite-used'], 'reused invite link')
      await assertJoinerOutside()
    } finally {
      await first.stop()
      third.remove()
    }
  })

  it('does not let a non-admin invite', async () => {
    await otherIsEditor()
    await rejectsWith(other!.connect().request('workspace.invite', { workspaceId: ws }), ['forbidden'], 'editor invite')
    await rejectsWith(jc.request('workspace.invite', { workspaceId: ws }), ['not-found'], 'stranger invite')
  })

  it('rejects an invite whose inviter is offline as unreachable', async () => {
    const dir = tempDir()
    const gone = await startPeer(dir.path, { name: 'Gone' })
    try {
      const ws2 = (await gone.connect().request('workspace.create', { name: 'Elsewhere' })).id
      const invite = await gone.connect().request('workspace.invite', { workspaceId: ws2, approve: false })
      await gone.stop()
      const started = Date.now()
      // The joiner tries again for a bounded time (15 s), then says which step failed and how often it tried.
      const err = await rejectsWith(jc.request('workspace.join', { code: invite.code }), ['unreachable'], 'offline inviter')
      const elapsed = Date.now() - started
      console.log(`after ${elapsed} ms: ${err.message}`)
      assert.match(err.message, /^Could not reach the inviter at .* \(dial failed: .+; \d+ attempts in \d+\.\d s\)\. Are they online/)
      assert.ok(elapsed < 17_000, `gave up after ${elapsed} ms`)
      await assertJoinerOutside()
    } finally {
      await gone.stop()
      dir.remove()
    }
  })

  it('the owner still serves and invites after all of that', async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws, approve: false })
    const joined = await jc.request('workspace.join', { code: invite.code })
    assert.equal(joined.id, ws)
    assert.equal(joined.role, 'editor')
  })
})
