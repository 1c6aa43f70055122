/** grapevine:// links are untrusted: only the invite shape passes, capped, and waits for a window. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_INVITE_CODE_CHARS } from '../shared/limits.ts'
import { inviteLinkFromAdditionalData, inviteLinkFromArgv, InviteRouter, parseInviteLink } from './deep-link.ts'

const CODE = 'GV1.o2F2AWJ3c3ggYWJjZGVmZ2hpamtsbW5vcA'

test('an invite link passes, normalised', () => {
  assert.equal(parseInviteLink(`grapevine://join/${CODE}`), `grapevine://join/${CODE}`)
  assert.equal(parseInviteLink(`  Grapevine://JOIN/${CODE}/ \n`), `grapevine://join/${CODE}`)
  assert.equal(parseInviteLink(`grapevine://join/${encodeURIComponent(CODE)}%2E`), `grapevine://join/${CODE}%2E`)
})

test('anything else is refused', () => {
  for (const raw of [
    '',
    'grapevine://join/',
    'grapevine://join',
    'grapevine://invite/abc',
    'grapevine://join/a b',
    'grapevine://join/abc?x=1',
    'grapevine://join/abc#frag',
    'grapevine://join/abc/def',
    'grapevine://join/<script>',
    "grapevine://join/a'b",
    'grapevine://join/a"b',
    'grapevine://user@join/abc',
    'grapevinex://join/abc',
    'https://join/abc',
    'grapevine:join/abc',
    'grapevine://join/abc\u0000',
    'grapevine://join/abc\u202e',
    `grapevine://join/${'A'.repeat(MAX_INVITE_CODE_CHARS)}`,
    'file:///etc/passwd',
    42,
    null,
    undefined,
    {},
    ['grapevine://join/abc'],
  ])
    assert.equal(parseInviteLink(raw), null, JSON.stringify(raw))
})

test('a huge argument is refused before any parsing', () => {
  assert.equal(parseInviteLink(`grapevine://join/${'A'.repeat(10_000_000)}`), null)
})

test('the link is found in a second instance argv among Chromium switches', () => {
  const link = `grapevine://join/${CODE}`
  assert.equal(inviteLinkFromArgv(['/opt/Grapevine/grapevine', '--no-sandbox', '--original-process-start-time=1', link]), link)
  assert.equal(inviteLinkFromArgv(['C:\\Grapevine.exe', '--allow-file-access-from-files', `GRAPEVINE://join/${CODE}`]), link)
  assert.equal(inviteLinkFromArgv(['/app', 'grapevine://evil/x', link]), null, 'only the first link counts')
  assert.equal(inviteLinkFromArgv(['/app', '--inspect=9229']), null)
  assert.equal(inviteLinkFromArgv('grapevine://join/abc'), null)
  assert.equal(inviteLinkFromAdditionalData({ inviteLink: link }), link)
  assert.equal(inviteLinkFromAdditionalData({ inviteLink: 'grapevine://join/a b' }), null)
  assert.equal(inviteLinkFromAdditionalData(null), null)
})

test('an invite waits until a window can show it, and only the latest is kept', () => {
  const shown: string[] = []
  let ready = false
  const router = new InviteRouter((link) => {
    if (!ready) return false
    shown.push(link)
    return true
  })
  assert.equal(router.offer('grapevine://join/first'), 'grapevine://join/first')
  assert.equal(router.offer('grapevine://join/second'), 'grapevine://join/second')
  assert.equal(router.offer('javascript:alert(1)'), null)
  assert.deepEqual(shown, [])
  ready = true
  router.flush()
  router.flush()
  assert.deepEqual(shown, ['grapevine://join/second'])
  assert.equal(router.pending, null)
  router.offer('grapevine://join/third')
  assert.deepEqual(shown, ['grapevine://join/second', 'grapevine://join/third'])
})
