/**
 * The shell in a real Electron, driven by Playwright: the page cannot reach Node, cannot open
 * windows, navigate away or get permissions, and IPC from a window that is not ours is dropped.
 * Runs only where Electron's binary is installed; elsewhere it is skipped with the reason.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { _electron, type ElectronApplication, type Page } from 'playwright-core'
import { buildElectron, BUNDLES, ROOT } from '../scripts/build-electron.ts'
import { appArgument, buildRenderer, electronBinary } from '../scripts/start.ts'

/**
 * The browser globals the page-side callbacks use. Those callbacks run in Chromium, not here, and
 * main's project has no DOM types: each one names its world as `globalThis as unknown as PageWorld`.
 */
interface PageWorld {
  location: { origin: string; href: string }
  open(url: string): unknown
  Notification: { requestPermission(): Promise<string> }
  navigator: { geolocation: { getCurrentPosition(ok: () => void, fail: (e: { code: number }) => void, opts: { timeout: number }): void } }
  document: {
    addEventListener(type: 'securitypolicyviolation', l: (e: { effectiveDirective: string }) => void): void
    createElement(tag: 'script'): { textContent: string }
    head: { append(node: unknown): void }
  }
  setTimeout(code: string | (() => void), ms: number): unknown
  fetch(url: string): Promise<unknown>
  __inlineRan?: boolean
  __stringTimerRan?: boolean
}

const executablePath = electronBinary()
const SKIP = 'Electron binary not installed (ELECTRON_SKIP_BINARY_DOWNLOAD); skipping _electron tests'
if (!executablePath) console.log(`# ${SKIP}`)

describe('the desktop shell in Electron', { skip: executablePath ? false : SKIP }, () => {
  let app: ElectronApplication
  let page: Page
  let userData: string

  /** Polls main's log file until `pattern` shows (bounded): the shell's own word that it did something. */
  async function waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const logs = await app.evaluate(({ app: electronApp }) => electronApp.getPath('logs'))
    const deadline = Date.now() + timeoutMs
    let log = ''
    while (!pattern.test(log)) {
      if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${pattern} in main.log`)
      await new Promise((r) => setTimeout(r, 100))
      try {
        log = readFileSync(join(logs, 'main.log'), 'utf8')
      } catch {
        /* not written yet */
      }
    }
  }

  before(async () => {
    buildRenderer()
    await buildElectron()
    userData = mkdtempSync(join(tmpdir(), 'gv-electron-'))
    const env: Record<string, string> = { ...(process.env as Record<string, string>), GRAPEVINE_USER_DATA: userData }
    delete env['ELECTRON_RUN_AS_NODE']
    app = await _electron.launch({ executablePath: executablePath!, args: [appArgument()], cwd: ROOT, env, timeout: 60_000 })
    page = await app.firstWindow()
    await page.waitForLoadState('load')
  })

  after(async () => {
    await app?.close()
    if (userData) rmSync(userData, { recursive: true, force: true })
  })

  test('the window shows our page, from our own scheme', async () => {
    assert.match(page.url(), /^app:\/\/grapevine\//)
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageWorld).location.origin), 'app://grapevine')
  })

  test("the editor's worker starts from our scheme and loads Automerge's WASM there", async () => {
    // The page starts its editor worker at boot (renderer/src/editor/load.ts), a module worker from app://.
    const deadline = Date.now() + 20_000
    while (!page.workers().some((w) => /replica-worker/.test(w.url())) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100))
    const worker = page.workers().find((w) => /replica-worker/.test(w.url()))
    const urls = page.workers().map((w) => w.url())
    assert.ok(worker, `no editor worker among ${urls.join(', ') || 'none'}`)
    assert.match(worker.url(), /^app:\/\/grapevine\//)
    const wasm = async (): Promise<boolean> =>
      worker.evaluate(() => performance.getEntriesByType('resource').some((r) => /automerge.*\.wasm/.test(r.name)))
    while (!(await wasm()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    assert.ok(await wasm(), "the worker fetched Automerge's WASM")
  })

  test('the page cannot reach Node; it sees only the frozen platform name', async () => {
    const seen = await page.evaluate(() => ({
      require: typeof (globalThis as { require?: unknown }).require,
      process: typeof (globalThis as { process?: unknown }).process,
      module: typeof (globalThis as { module?: unknown }).module,
      bridge: JSON.stringify((globalThis as { grapevine?: unknown }).grapevine),
    }))
    assert.equal(seen.require, 'undefined')
    assert.equal(seen.process, 'undefined')
    assert.equal(seen.module, 'undefined')
    assert.equal(seen.bridge, JSON.stringify({ platform: process.platform }))
  })

  test('window.open returns null and no window appears', async () => {
    const results = await page.evaluate(() => {
      const w = globalThis as unknown as PageWorld
      return [w.open('https://example.com/'), w.open('app://grapevine/index.html'), w.open('')].map((x) => x === null)
    })
    assert.deepEqual(results, [true, true, true])
    assert.equal(app.windows().length, 1)
  })

  test('navigation to another origin is refused', async () => {
    const before = page.url()
    await page.evaluate(() => {
      ;(globalThis as unknown as PageWorld).location.href = 'https://example.com/'
    })
    // The guard says when it refuses (security.ts): wait for that, not for a fixed time.
    await waitForLog(/refused navigation to https:\/\/example\.com\//)
    assert.equal(page.url(), before)
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageWorld).location.origin), 'app://grapevine')
  })

  test('permission requests are denied', async () => {
    const notifications = await page.evaluate(() => (globalThis as unknown as PageWorld).Notification.requestPermission())
    assert.equal(notifications, 'denied')
    const geolocation = await page.evaluate(
      () =>
        new Promise<number | string>((resolve) =>
          (globalThis as unknown as PageWorld).navigator.geolocation.getCurrentPosition(
            () => resolve('granted'),
            (e) => resolve(e.code),
            { timeout: 5000 },
          ),
        ),
    )
    assert.equal(geolocation, 1) // GeolocationPositionError.PERMISSION_DENIED
  })

  test('the CSP is in force: no inline script, no eval, no requests to other origins', async () => {
    // Code that Playwright evaluates is exempt from the page's eval rule (CDP), so each probe makes
    // the page itself compile or fetch, and the page's own violation reports are the evidence.
    const result = await page.evaluate(async () => {
      const w = globalThis as unknown as PageWorld
      const violations = new Set<string>()
      w.document.addEventListener('securitypolicyviolation', (e) => violations.add(e.effectiveDirective))
      const script = w.document.createElement('script')
      script.textContent = 'window.__inlineRan = true'
      w.document.head.append(script)
      w.setTimeout('window.__stringTimerRan = true', 0)
      let fetched = 'ran'
      try {
        await w.fetch('https://example.com/')
      } catch {
        fetched = 'blocked'
      }
      // Each refusal is reported once it has happened: wait for the three reports (bounded), not a fixed time.
      const deadline = Date.now() + 5000
      while (violations.size < 3 && Date.now() < deadline) await new Promise((r) => w.setTimeout(() => r(null), 20))
      return { inline: w.__inlineRan ?? false, stringTimer: w.__stringTimerRan ?? false, fetched, violations: [...violations].sort() }
    })
    assert.deepEqual(result, {
      inline: false,
      stringTimer: false,
      fetched: 'blocked',
      violations: ['connect-src', 'script-src', 'script-src-elem'],
    })
  })

  test('IPC from a window that is not one of ours is dropped', async () => {
    await app.evaluate(
      async ({ BrowserWindow }, preload) => {
        // Same page, same preload, but created outside the app's window list: its hello must be refused.
        const stranger = new BrowserWindow({ show: false, webPreferences: { preload, sandbox: true, contextIsolation: true } })
        await stranger.loadURL('app://grapevine/index.html')
      },
      join(ROOT, BUNDLES.preload),
    )
    await waitForLog(/dropped IPC "grapevine:hello": sender is not one of our windows/)
  })
})
