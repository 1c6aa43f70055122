/**
 * The editor's worker loses its own connection to the peer while the window's stays up (browser mode):
 * the worker dials again, the window opens the document again on the new session (`reopen`), and what
 * was typed in between reaches the peer once, shown once. A peer process in browser mode and Chromium;
 * the drop is made inside the worker (its next WebSocket send closes the socket instead), since
 * Playwright cannot intercept a worker's WebSocket.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { waitFor } from '../main/peer/test/helpers.ts'
import { browserProblem, onboard, onePeer } from './harness.ts'

const problem = browserProblem()
if (problem && process.env['CI']) throw new Error(`end-to-end tests cannot run: ${problem}`)
if (problem) console.log(`end-to-end tests skipped: ${problem}`)

const ui = onePeer(problem)

const editor = (p: Page) => p.getByTestId('editor').locator('.cm-content')
/** Waits until the page's editor shows exactly `text`. */
const shows = (p: Page, text: string, what: string) => waitFor(what, async () => (await editor(p).innerText()) === text, 15_000)

test("the editor worker's own connection drops: the document is opened again on its new one, and what was typed meanwhile reaches the peer once", {
  skip: problem ?? false,
  timeout: 120_000,
}, async () => {
  const page = await (await ui.browser().newContext({ viewport: { width: 1280, height: 800 } })).newPage()
  page.on('pageerror', (err) => console.log(`page error: ${err.message}`))
  await onboard(page, ui.peer().url, 'Ana')
  await page.getByTestId('workspace-name-input').fill('Studio')
  await page.getByTestId('workspace-name-input').press('Enter')
  await page.getByTestId('new-document').click()
  await editor(page).click()
  await page.keyboard.type('Hello', { delay: 10 })

  // The editor's worker: its next WebSocket send closes its socket instead (the window's socket is the page's, untouched).
  const names = await Promise.all(page.workers().map((w) => w.evaluate(() => (globalThis as unknown as { name: string }).name)))
  const worker = page.workers()[names.indexOf('grapevine-editor')]
  assert.ok(worker, `the editor worker runs (workers: ${names.join(', ')})`)
  await worker.evaluate(() => {
    const g = globalThis as unknown as { __dropped?: boolean }
    const send = WebSocket.prototype.send
    WebSocket.prototype.send = function (this: WebSocket, data: Parameters<WebSocket['send']>[0]) {
      if (g.__dropped) return send.call(this, data)
      g.__dropped = true
      this.close()
    }
  })

  await page.keyboard.type(' world', { delay: 10 })
  assert.equal(await worker.evaluate(() => (globalThis as unknown as { __dropped?: boolean }).__dropped), true, 'the socket was dropped')
  // Typed once, shown once, in the window that typed it.
  await shows(page, 'Hello world', 'the typing page to show the text once')

  // The peer has it: a new page on the same peer opens the document with the text typed during the drop.
  const check = await (await ui.browser().newContext({ viewport: { width: 1280, height: 800 } })).newPage()
  await check.goto(ui.peer().url)
  await check.getByTestId('doc-item').first().click()
  await shows(check, 'Hello world', "a new page to open the peer's text with what was typed during the drop")
  assert.equal(await editor(page).innerText(), 'Hello world')
})
