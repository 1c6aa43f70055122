/**
 * app://grapevine serves the built renderer and nothing outside it, always with the CSP. The rules
 * are shared with browser mode (shared/static-files.test.ts); this is Electron's host of them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CONTENT_SECURITY_POLICY } from '../shared/csp.ts'
import { resolveAppPath, serveAppRequest } from './app-protocol.ts'

const ROOT = '/app/out/renderer'

test('paths resolve inside the renderer folder only', () => {
  assert.equal(resolveAppPath('app://grapevine/', ROOT), `${ROOT}/index.html`)
  assert.equal(resolveAppPath('app://grapevine/assets/index-abc.js?x#y', ROOT), `${ROOT}/assets/index-abc.js`)
  assert.equal(resolveAppPath('app://grapevine/a%20b.css', ROOT), `${ROOT}/a b.css`)
  // The URL parser folds plain and %2e dot segments at the root: still inside the folder.
  assert.equal(resolveAppPath('app://grapevine/../../etc/passwd', ROOT), `${ROOT}/etc/passwd`)
  assert.equal(resolveAppPath('app://grapevine/%2e%2e/%2e%2e/etc/passwd', ROOT), `${ROOT}/etc/passwd`)
  // Encoded separators survive the parser and would climb out after decoding: refused.
  for (const url of [
    'app://grapevine/..%2f..%2fsecret',
    'app://grapevine/a/..%2f..%2f..%2fsecret',
    'app://grapevine/a%5c..%5c..%5cx',
    'app://grapevine/a%00.js',
    'app://grapevine/%E0%A4%A',
    'app://other/index.html',
    'file:///etc/passwd',
  ]) {
    assert.equal(resolveAppPath(url, ROOT), null, url)
  }
})

test('responses: files with type and CSP, 404 outside, 405 for writes, a hint when not built', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gv-proto-'))
  try {
    const get = (path: string, method = 'GET') => serveAppRequest({ url: `app://grapevine${path}`, method }, dir)
    const notBuilt = await get('/')
    assert.equal(notBuilt.status, 200)
    assert.match(await notBuilt.text(), /not built/)
    mkdirSync(join(dir, 'assets'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Grapevine</title>')
    writeFileSync(join(dir, 'assets', 'a.wasm'), new Uint8Array([0, 97, 115, 109]))
    writeFileSync(join(dir, '..', 'gv-secret.txt'), 'secret')
    const page = await get('/')
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY)
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(await page.text(), '<!doctype html><title>Grapevine</title>')
    const wasm = await get('/assets/a.wasm')
    assert.equal(wasm.headers.get('content-type'), 'application/wasm')
    assert.deepEqual(new Uint8Array(await wasm.arrayBuffer()), new Uint8Array([0, 97, 115, 109]))
    assert.equal((await get('/missing.js')).status, 404)
    assert.equal((await get('/../gv-secret.txt')).status, 404)
    assert.equal((await get('/%2e%2e/gv-secret.txt')).status, 404)
    assert.equal((await get('/', 'POST')).status, 405)
    assert.equal((await get('/', 'HEAD')).status, 200)
  } finally {
    rmSync(join(dir, '..', 'gv-secret.txt'), { force: true })
    rmSync(dir, { recursive: true, force: true })
  }
})
