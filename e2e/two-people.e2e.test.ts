/**
 * The app as two people use it: two peers in separate processes in browser mode, two Chromium pages.
 * Create a workspace, invite, join (comparing safety words), type and see the text and the remote
 * cursor; stop one peer, edit on both sides, start it again, both converge; reload and all is there.
 * Screenshots of the main screens go to a temp folder, or to docs/screenshots/ with `npm run screenshots`.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Browser, Page } from 'playwright-core'
import { tempDir } from '../main/peer/test/helpers.ts'
import { browserProblem, launchChromium, screenshots, startUiPeer, type UiPeer } from './harness.ts'

const problem = browserProblem()
if (problem && process.env['CI']) throw new Error(`end-to-end tests cannot run: ${problem}`)
if (problem) console.log(`end-to-end tests skipped: ${problem}`)

const dirs = { ana: tempDir(), ben: tempDir() }
const shots = screenshots()
const screenshotPath = shots.path
let failed = false
let ana: UiPeer
let ben: UiPeer
let browser: Browser
let pa: Page
let pb: Page

before(async () => {
  if (problem) return
  ;[ana, ben] = await Promise.all([startUiPeer(dirs.ana.path, 'ana-laptop'), startUiPeer(dirs.ben.path, 'ben-desktop')])
  browser = await launchChromium()
  const context = async (): Promise<Page> => (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
  ;[pa, pb] = await Promise.all([context(), context()])
  for (const p of [pa, pb]) p.on('pageerror', (err) => console.log(`page error: ${err.message}`))
})

after(async () => {
  await browser?.close()
  await Promise.allSettled([ana?.stop(), ben?.stop()])
  dirs.ana.remove()
  dirs.ben.remove()
  shots.done(failed)
})

const editor = (p: Page) => p.getByTestId('editor').locator('.cm-content')
/** The document's text as the editor shows it, without teammates' cursor widgets. */
const editorText = (p: Page): Promise<string> =>
  editor(p).evaluate((el) =>
    [...el.querySelectorAll('.cm-line')]
      .map((line) => {
        const copy = line.cloneNode(true) as typeof line
        for (const w of copy.querySelectorAll('.cm-remote-caret, .cm-remote-label, .cm-widgetBuffer')) w.remove()
        return copy.textContent ?? ''
      })
      .join('\n'),
  )

async function waitText(p: Page, check: (text: string) => boolean, what: string, timeout = 20_000): Promise<string> {
  const deadline = Date.now() + timeout
  let text = ''
  while (Date.now() < deadline) {
    text = await editorText(p).catch(() => '')
    if (check(text)) return text
    await p.waitForTimeout(100)
  }
  throw new Error(`${what}: editor text is ${JSON.stringify(text)}`)
}

async function onboard(p: Page, url: string, name: string): Promise<void> {
  await p.goto(url)
  await p.getByTestId('name-input').fill(name)
  await p.getByTestId('name-input').press('Enter')
}

test('two people: invite, join with safety words, live text and cursor, offline edits, reload', {
  skip: problem ?? false,
  timeout: 240_000,
}, async () => {
  try {
    await scenario()
  } catch (err) {
    // What each person saw when it failed, for the one reading the failure.
    failed = true
    await Promise.allSettled([
      pa.screenshot({ path: screenshotPath('failure-ana') }),
      pb.screenshot({ path: screenshotPath('failure-ben') }),
    ])
    throw err
  }
})

async function scenario(): Promise<void> {
  // Ana starts a workspace.
  await onboard(pa, ana.url, 'Ana')
  await pa.screenshot({ path: screenshotPath('01-first-run') })
  await pa.getByTestId('workspace-name-input').fill('Studio')
  await pa.getByTestId('workspace-name-input').press('Enter')
  await pa.getByTestId('sidebar').waitFor()

  // Ana invites (the invite needs her approval); Ben pastes the code and compares words.
  await pa.getByTestId('invite-button').click()
  const code = await pa.getByTestId('invite-code').inputValue()
  assert.match(code, /^GV1\./)
  await pa.getByTestId('invite-qr').waitFor()
  await pa.screenshot({ path: screenshotPath('02-invite') })
  await onboard(pb, ben.url, 'Ben')
  await pb.getByTestId('join-code-input').fill(code)
  await pb.getByRole('button', { name: 'Check invite' }).click()
  await pb.getByTestId('invite-details').waitFor()
  assert.equal(await pb.getByTestId('invite-workspace-name').innerText(), 'Studio')
  const benWords = await pb.getByTestId('invite-details').getByTestId('my-safety-words').innerText()
  const anaWordsAsBenSees = await pb.getByTestId('inviter-safety-words').innerText()
  await pb.screenshot({ path: screenshotPath('03-join') })
  await pb.getByTestId('join-button').click()
  await pa.getByTestId('join-request').waitFor({ timeout: 20_000 })
  assert.equal(await pa.getByTestId('join-request-name').innerText(), 'Ben')
  assert.equal(await pa.getByTestId('join-request-words').innerText(), benWords, 'Ana sees the words Ben sees')
  assert.equal(await pa.getByTestId('invite-dialog').getByTestId('my-safety-words').innerText(), anaWordsAsBenSees)
  await pa.screenshot({ path: screenshotPath('04-join-request') })
  await pa.getByTestId('join-accept').click()
  await pb.getByTestId('sidebar').waitFor({ timeout: 30_000 })
  await pa.keyboard.press('Escape')

  // Ana writes; Ben sees the text and Ana's cursor with her name.
  await pa.getByTestId('new-document').click()
  await editor(pa).click()
  await pa.keyboard.type('# Plan\n\nShip the peer first.', { delay: 15 })
  await pb.getByTestId('doc-item').first().click()
  await waitText(pb, (t) => t.includes('Ship the peer first.'), "Ana's text on Ben's screen")
  const cursor = pb.locator('[data-testid="remote-cursor"]')
  await cursor.first().waitFor({ timeout: 20_000 })
  assert.match(await pb.locator('.cm-remote-label').first().innerText(), /Ana/)
  await pb.screenshot({ path: screenshotPath('05-live-cursor') })
  // And the other way.
  await editor(pb).click()
  await pb.keyboard.press('Control+End')
  await pb.keyboard.type('\nBen was here.', { delay: 15 })
  await waitText(pa, (t) => t.includes('Ben was here.'), "Ben's text on Ana's screen")
  await pa.getByTestId('sync-status').waitFor()
  await pa.screenshot({ path: screenshotPath('06-document') })

  // Ben's peer stops; both edit; it starts again and both converge.
  assert.equal(await ben.stop(), 0)
  await editor(pa).click()
  await pa.keyboard.press('Control+End')
  await pa.keyboard.type('\nWritten by Ana while Ben was away.', { delay: 10 })
  await editor(pb).click()
  await pb.keyboard.press('Control+Home')
  await pb.keyboard.type('Offline note from Ben. ', { delay: 10 })
  await pb.screenshot({ path: screenshotPath('07-peer-stopped') })
  ben = await startUiPeer(dirs.ben.path, 'ben-desktop')
  const both = (t: string): boolean => t.includes('Written by Ana while Ben was away.') && t.includes('Offline note from Ben.')
  const finalA = await waitText(pa, both, "both offline edits on Ana's screen", 45_000)
  const finalB = await waitText(pb, both, "both offline edits on Ben's screen", 45_000)
  assert.equal(finalA, finalB)

  // A reload loses nothing.
  await pb.reload()
  await pb.getByTestId('doc-item').first().click()
  assert.equal(await waitText(pb, both, 'text after reload'), finalB)
  await pa.screenshot({ path: screenshotPath('08-converged') })
}
