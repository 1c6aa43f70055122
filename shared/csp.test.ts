/** The one Content-Security-Policy: strict, and the same in the header and the page's meta tag. */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { CONTENT_SECURITY_POLICY, CSP_DIRECTIVES, serializeCsp } from './csp.ts'

test('the header policy is self only, WASM but no eval, no plugins, no framing', () => {
  assert.equal(CONTENT_SECURITY_POLICY, serializeCsp(CSP_DIRECTIVES))
  const d = new Map(CONTENT_SECURITY_POLICY.split('; ').map((s) => [s.split(' ')[0], s.split(' ').slice(1).join(' ')]))
  assert.equal(d.get('default-src'), "'self'")
  assert.equal(d.get('script-src'), "'self' 'wasm-unsafe-eval'")
  assert.equal(d.get('connect-src'), "'self'")
  assert.equal(d.get('object-src'), "'none'")
  assert.equal(d.get('frame-ancestors'), "'none'")
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /'unsafe-eval'|\*/)
})

test('the meta tag version is the same policy without the header-only directives', () => {
  const meta = serializeCsp(CSP_DIRECTIVES, { meta: true })
  assert.doesNotMatch(meta, /frame-ancestors/)
  assert.equal(
    meta,
    CONTENT_SECURITY_POLICY.split('; ')
      .filter((d) => !d.startsWith('frame-ancestors'))
      .join('; '),
  )
})

test('index.html has no hand-written copy: the build writes the tag from this policy', () => {
  const html = readFileSync(new URL('../renderer/index.html', import.meta.url), 'utf8')
  assert.doesNotMatch(html, /http-equiv="Content-Security-Policy"/i)
})
