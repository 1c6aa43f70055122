/** The static file rules both hosts serve the renderer by (app:// in Electron, http in browser mode). */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CONTENT_SECURITY_POLICY } from './csp.ts'
import { contentTypeFor, serveStaticFile, staticFilePath } from './static-files.ts'

test('types the browser insists on', () => {
  assert.equal(contentTypeFor('assets/automerge_wasm_bg.wasm'), 'application/wasm')
  assert.equal(contentTypeFor('x/index.JS'), 'text/javascript; charset=utf-8')
  assert.equal(contentTypeFor('index.html'), 'text/html; charset=utf-8')
  for (const name of ['x/unknown.bin', 'x/noext', 'x.d/noext', '.js']) assert.equal(contentTypeFor(name), 'application/octet-stream', name)
})

test('URL paths become relative paths inside the folder, or nothing', () => {
  assert.equal(staticFilePath('/'), 'index.html')
  assert.equal(staticFilePath(''), 'index.html')
  assert.equal(staticFilePath('/assets/index-abc.js'), 'assets/index-abc.js')
  assert.equal(staticFilePath('/a%20b.css'), 'a b.css')
  assert.equal(staticFilePath('//assets/./x.js'), 'assets/x.js')
  // Separators that only appear once decoded, NUL, backslashes, drive letters, bad escapes: refused.
  for (const bad of ['/..', '/../x', '/a/../../x', '/..%2f..%2fsecret', '/a%5c..%5cx', '/a%00.js', '/C:/Windows/win.ini', '/%E0%A4%A']) {
    assert.equal(staticFilePath(bad), null, bad)
  }
})

test('responses: the file with its type and the page headers; 404, 405; a hint when the app is not built', async () => {
  const files = new Map([
    ['index.html', new TextEncoder().encode('<!doctype html>')],
    ['assets/a.wasm', new Uint8Array([0, 97, 115, 109])],
  ])
  const asked: string[] = []
  const read = async (path: string) => {
    asked.push(path)
    return files.get(path) ?? null
  }
  const page = await serveStaticFile({ method: 'GET', pathname: '/' }, read)
  assert.equal(page.status, 200)
  assert.equal(page.headers['Content-Type'], 'text/html; charset=utf-8')
  assert.equal(page.headers['Content-Security-Policy'], CONTENT_SECURITY_POLICY)
  assert.equal(page.headers['X-Content-Type-Options'], 'nosniff')
  assert.deepEqual(page.body, files.get('index.html'))
  const wasm = await serveStaticFile({ method: 'GET', pathname: '/assets/a.wasm' }, read)
  assert.equal(wasm.headers['Content-Type'], 'application/wasm')
  assert.equal((await serveStaticFile({ method: 'HEAD', pathname: '/assets/a.wasm' }, read)).body, null)
  const missing = await serveStaticFile({ method: 'GET', pathname: '/missing.js' }, read)
  assert.equal(missing.status, 404)
  assert.equal(missing.headers['Content-Security-Policy'], CONTENT_SECURITY_POLICY, 'every response carries the CSP')
  assert.equal((await serveStaticFile({ method: 'POST', pathname: '/' }, read)).status, 405)
  asked.length = 0
  assert.equal((await serveStaticFile({ method: 'GET', pathname: '/..%2fsecret' }, read)).status, 404)
  assert.deepEqual(asked, [], 'a refused path is never read')
  const notBuilt = await serveStaticFile({ method: 'GET', pathname: '/' }, async () => null)
  assert.equal(notBuilt.status, 200)
  assert.match(String(notBuilt.body), /not built/)
})
