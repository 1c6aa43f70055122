/** The window policy, with small fakes for the Electron objects it is handed. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CONTENT_SECURITY_POLICY } from '../shared/csp.ts'
import { APP_ENTRY_URL, isAppUrl } from './app-url.ts'
import {
  cspHeadersHandler,
  externalLinkTarget,
  hardenSession,
  hardenWebContents,
  navigationGuard,
  permissionCheckHandler,
  permissionRequestHandler,
  secureWebPreferences,
  windowOpenHandler,
} from './security.ts'

const navEvent = (url: string) => ({
  url,
  prevented: false,
  preventDefault() {
    this.prevented = true
  },
})

test('only app://grapevine URLs are the app', () => {
  for (const url of [APP_ENTRY_URL, 'app://grapevine/', 'app://grapevine/assets/x.js?v=1#top']) assert.ok(isAppUrl(url), url)
  for (const url of [
    'app://other/index.html',
    'app://grapevine.evil.com/',
    'app://user:pw@grapevine/',
    'https://grapevine/',
    'file:///etc/passwd',
    'http://127.0.0.1:5173/',
    'javascript:alert(1)',
    '',
    'app:',
    42,
    null,
    `app://grapevine/${'a'.repeat(9000)}`,
  ]) {
    assert.equal(isAppUrl(url), false, String(url).slice(0, 60))
  }
})

test('navigation away from the app is refused; within it, allowed', () => {
  const refused: string[] = []
  const guard = navigationGuard((u) => refused.push(u))
  const inside = navEvent('app://grapevine/index.html#doc')
  guard(inside)
  assert.equal(inside.prevented, false)
  for (const url of [
    'https://example.com/',
    'file:///etc/passwd',
    'app://elsewhere/',
    'data:text/html,<script>1</script>',
    'about:blank',
  ]) {
    const e = navEvent(url)
    guard(e)
    assert.equal(e.prevented, true, url)
  }
  assert.equal(refused.length, 5)
})

test('window.open never opens a window; http(s) links go to the OS browser, other schemes nowhere', async () => {
  const opened: string[] = []
  const handler = windowOpenHandler({
    openExternal: async (u: string) => {
      opened.push(u)
    },
  })
  for (const url of [
    'https://automerge.org/docs',
    'http://example.com/a?b=c',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'smb://share/x',
    'app://grapevine/index.html',
    'https://user:pw@example.com/',
    `https://x.com/${'a'.repeat(3000)}`,
    'not a url',
  ]) {
    assert.deepEqual(handler({ url }), { action: 'deny' }, url)
  }
  assert.deepEqual(opened, ['https://automerge.org/docs', 'http://example.com/a?b=c'])
  assert.equal(externalLinkTarget('HTTPS://Example.com'), 'https://example.com/')
})

test('permission requests are denied, except clipboard write for our own pages', () => {
  const answers: Array<[string, boolean]> = []
  const denied: string[] = []
  const handler = permissionRequestHandler((p) => denied.push(p))
  const ours = { getURL: () => APP_ENTRY_URL }
  const theirs = { getURL: () => 'https://evil.example/' }
  for (const p of ['notifications', 'geolocation', 'media', 'clipboard-read', 'openExternal', 'midiSysex', 'unknown']) {
    handler(ours, p, (g) => answers.push([p, g]))
  }
  handler(ours, 'clipboard-sanitized-write', (g) => answers.push(['clipboard-sanitized-write', g]))
  handler(theirs, 'clipboard-sanitized-write', (g) => answers.push(['clipboard-sanitized-write (other origin)', g]))
  handler(ours, 'clipboard-sanitized-write', (g) => answers.push(['clipboard via requestingUrl', g]), {
    requestingUrl: 'https://evil.example/',
  })
  assert.deepEqual(
    answers.filter(([, g]) => g).map(([p]) => p),
    ['clipboard-sanitized-write'],
  )
  assert.equal(denied.length, answers.length - 1)
  const check = permissionCheckHandler()
  assert.equal(check(null, 'notifications', 'app://grapevine'), false)
  assert.equal(check(null, 'geolocation', 'app://grapevine'), false)
  assert.equal(check(null, 'clipboard-sanitized-write', 'https://evil.example'), false)
  assert.equal(check(null, 'clipboard-sanitized-write', 'app://grapevine'), true)
})

test('our pages get our CSP, replacing any other; other responses are left alone', () => {
  const handler = cspHeadersHandler()
  let got: Record<string, string | string[]> | undefined
  handler({ url: APP_ENTRY_URL, responseHeaders: { 'content-security-policy': ['default-src *'], 'Content-Type': ['text/html'] } }, (r) => {
    got = r.responseHeaders
  })
  assert.deepEqual(got?.['Content-Security-Policy'], [CONTENT_SECURITY_POLICY])
  assert.equal(got?.['content-security-policy'], undefined)
  assert.deepEqual(got?.['Content-Type'], ['text/html'])
  let other: unknown = 'unset'
  handler({ url: 'devtools://devtools/bundled/x.html' }, (r) => {
    other = r.responseHeaders
  })
  assert.equal(other, undefined)
})

test('the CSP is the strict one: self only, WASM but no eval, no plugins, no framing', () => {
  const d = Object.fromEntries(CONTENT_SECURITY_POLICY.split('; ').map((s) => [s.split(' ')[0], s.split(' ').slice(1).join(' ')]))
  assert.equal(d['default-src'], "'self'")
  assert.equal(d['script-src'], "'self' 'wasm-unsafe-eval'")
  assert.equal(d['connect-src'], "'self'")
  assert.equal(d['img-src'], "'self' data:")
  assert.equal(d['style-src'], "'self' 'unsafe-inline'")
  assert.equal(d['object-src'], "'none'")
  assert.equal(d['frame-ancestors'], "'none'")
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /'unsafe-eval'|\*/)
})

test('hardening wires every handler onto the session and the web contents', () => {
  const calls: string[] = []
  hardenSession(
    {
      setPermissionRequestHandler: () => calls.push('request'),
      setPermissionCheckHandler: () => calls.push('check'),
      webRequest: { onHeadersReceived: () => calls.push('headers') },
    } as never,
    () => {},
  )
  const listeners = new Map<string, (e: ReturnType<typeof navEvent>) => void>()
  let openHandler: ((d: { url: string }) => unknown) | undefined
  hardenWebContents(
    {
      on: (name: string, l: (e: ReturnType<typeof navEvent>) => void) => listeners.set(name, l),
      setWindowOpenHandler: (h: (d: { url: string }) => unknown) => {
        openHandler = h
      },
    } as never,
    { openExternal: async () => {} },
    () => {},
  )
  assert.deepEqual(calls, ['request', 'check', 'headers'])
  assert.deepEqual([...listeners.keys()].sort(), ['will-attach-webview', 'will-frame-navigate', 'will-navigate', 'will-redirect'])
  for (const name of ['will-navigate', 'will-redirect', 'will-frame-navigate', 'will-attach-webview']) {
    const e = navEvent('https://example.com/')
    listeners.get(name)!(e)
    assert.equal(e.prevented, true, name)
  }
  assert.deepEqual(openHandler?.({ url: 'https://example.com/' }), { action: 'deny' })
})

test('windows run sandboxed, isolated, without Node', () => {
  const prefs = secureWebPreferences('/app/out/preload/index.cjs', false)
  assert.equal(prefs.contextIsolation, true)
  assert.equal(prefs.sandbox, true)
  assert.equal(prefs.nodeIntegration, false)
  assert.equal(prefs.nodeIntegrationInSubFrames, false)
  assert.equal(prefs.webSecurity, true)
  assert.equal(prefs.webviewTag, false)
  assert.equal(prefs.devTools, false)
})
