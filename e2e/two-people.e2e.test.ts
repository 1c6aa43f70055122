/**
 * The app as two people use it: two peers in separate processes in browser mode, two Chromium pages.
 * Create a workspace, invite, join (comparing safety words), type and see the text and the remote
 * cursor; stop one peer, edit on both sides, start it again, both converge; reload and all is there.
 * Screenshots of the main screens go to a temp folder, or to docs/screenshots/ with `npm run screenshots`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { strFromU8, unzipSync } from 'fflate'
import type { Page } from 'playwright-core'
import { waitFor } from '../main/peer/test/helpers.ts'
import { browserProblem, onboard, twoPeople, startUiPeer } from './harness.ts'

const problem = browserProblem()
if (problem && process.env['CI']) throw new Error(`end-to-end tests cannot run: ${problem}`)
if (problem) console.log(`end-to-end tests skipped: ${problem}`)

const people = twoPeople(problem)

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

test(
  'two people: invite, join with safety words, live text and cursor, offline edits, reload',
  {
    skip: problem ?? false,
    timeout: 240_000,
  },
  () => people.run(scenario),
)

async function scenario(): Promise<void> {
  // Ana starts a workspace.
  await onboard(people.pa, people.ana.url, 'Ana')
  await people.pa.screenshot({ path: people.shots.path('01-first-run') })
  await people.pa.getByTestId('workspace-name-input').fill('Studio')
  await people.pa.getByTestId('workspace-name-input').press('Enter')
  await people.pa.getByTestId('sidebar').waitFor()

  // Ana invites (the invite needs her approval); Ben pastes the code and compares words.
  await people.pa.getByTestId('invite-button').click()
  const code = await people.pa.getByTestId('invite-code').inputValue()
  assert.match(code, /^GV1\./)
  await people.pa.getByTestId('invite-qr').waitFor()
  await people.pa.screenshot({ path: people.shots.path('02-invite') })
  await onboard(people.pb, people.ben.url, 'Ben')
  await people.pb.getByTestId('join-code-input').fill(code)
  await people.pb.getByRole('button', { name: 'Check invite' }).click()
  await people.pb.getByTestId('invite-details').waitFor()
  assert.equal(await people.pb.getByTestId('invite-workspace-name').innerText(), 'Studio')
  const benWords = await people.pb.getByTestId('invite-details').getByTestId('my-safety-words').innerText()
  const anaWordsAsBenSees = await people.pb.getByTestId('inviter-safety-words').innerText()
  await people.pb.screenshot({ path: people.shots.path('03-join') })
  await people.pb.getByTestId('join-button').click()
  await people.pa.getByTestId('join-request').waitFor({ timeout: 20_000 })
  assert.equal(await people.pa.getByTestId('join-request-name').innerText(), 'Ben')
  assert.equal(await people.pa.getByTestId('join-request-words').innerText(), benWords, 'Ana sees the words Ben sees')
  assert.equal(await people.pa.getByTestId('invite-dialog').getByTestId('my-safety-words').innerText(), anaWordsAsBenSees)
  await people.pa.screenshot({ path: people.shots.path('04-join-request') })
  await people.pa.getByTestId('join-accept').click()
  await people.pb.getByTestId('sidebar').waitFor({ timeout: 30_000 })
  await people.pa.keyboard.press('Escape')

  // Ana writes; Ben sees the text and Ana's cursor with her name.
  await people.pa.getByTestId('new-document').click()
  await editor(people.pa).click()
  await people.pa.keyboard.type('# Plan\n\nShip the peer first.', { delay: 15 })
  await people.pb.getByTestId('doc-item').first().click()
  await waitText(people.pb, (t) => t.includes('Ship the peer first.'), "Ana's text on Ben's screen")
  const cursor = people.pb.locator('[data-testid="remote-cursor"]')
  await cursor.first().waitFor({ timeout: 20_000 })
  assert.match(await people.pb.locator('.cm-remote-label').first().innerText(), /Ana/)
  await people.pb.screenshot({ path: people.shots.path('05-live-cursor') })
  // The replicas are in each window's editor worker, which runs Automerge; the window does not load it.
  for (const page of [people.pa, people.pb]) {
    assert.deepEqual(
      page.workers().map((w) => /replica-worker/.test(w.url())),
      [true],
      'one editor worker per window',
    )
    assert.equal(await page.evaluate(() => performance.getEntriesByType('resource').some((r) => /automerge/.test(r.name))), false)
    assert.equal(
      await page.workers()[0]!.evaluate(() => performance.getEntriesByType('resource').some((r) => /automerge.*\.wasm/.test(r.name))),
      true,
    )
  }
  // And the other way.
  await editor(people.pb).click()
  await people.pb.keyboard.press('Control+End')
  await people.pb.keyboard.type('\nBen was here.', { delay: 15 })
  await waitText(people.pa, (t) => t.includes('Ben was here.'), "Ben's text on Ana's screen")
  // Ben's caret on Ana's screen stands right after what he typed (drawn over the text, not inside it).
  const caretGap = (): Promise<number | null> =>
    editor(people.pa).evaluate((el) => {
      const caret = el.closest('.cm-editor')?.querySelector('[data-testid="remote-cursor"]')
      const line = [...el.querySelectorAll('.cm-line')].find((l) => l.textContent?.includes('Ben was here.'))
      if (!caret || !line) return null
      const range = el.ownerDocument.createRange()
      range.selectNodeContents(line)
      const end = [...range.getClientRects()].at(-1)
      if (!end) return null
      const at = caret.getBoundingClientRect()
      const sameLine = at.top < end.bottom && at.bottom > end.top
      return sameLine ? Math.abs(at.left - end.right) : null
    })
  await waitFor(
    "Ben's caret at the end of his line on Ana's screen",
    async () => {
      const gap = await caretGap()
      if (gap === null || gap > 3) throw new Error(`Ben's caret is ${gap} px from the end of his line on Ana's screen`)
      return true
    },
    10_000,
    100,
  )
  await people.pa.getByTestId('sync-status').waitFor()
  await people.pa.screenshot({ path: people.shots.path('06-document') })

  // Ben's peer stops; both edit; it starts again and both converge.
  assert.equal(await people.ben.stop(), 0)
  await editor(people.pa).click()
  await people.pa.keyboard.press('Control+End')
  await people.pa.keyboard.type('\nWritten by Ana while Ben was away.', { delay: 10 })
  await editor(people.pb).click()
  await people.pb.keyboard.press('Control+Home')
  await people.pb.keyboard.type('Offline note from Ben. ', { delay: 10 })
  await people.pb.screenshot({ path: people.shots.path('07-peer-stopped') })
  people.ben = await startUiPeer(people.dirs.ben.path, 'ben-desktop')
  const both = (t: string): boolean => t.includes('Written by Ana while Ben was away.') && t.includes('Offline note from Ben.')
  const finalA = await waitText(people.pa, both, "both offline edits on Ana's screen", 45_000)
  const finalB = await waitText(people.pb, both, "both offline edits on Ben's screen", 45_000)
  assert.equal(finalA, finalB)

  // A reload loses nothing.
  await people.pb.reload()
  await people.pb.getByTestId('doc-item').first().click()
  assert.equal(await waitText(people.pb, both, 'text after reload'), finalB)
  await people.pa.screenshot({ path: people.shots.path('08-converged') })
}

test(
  "search: Ana finds Ben's words across the workspace and opens the document at the hit; find and replace in it reaches Ben",
  {
    skip: problem ?? false,
    timeout: 120_000,
  },
  () => people.run(searchScenario),
)

async function searchScenario(): Promise<void> {
  // Ben writes a second document (the first test left both in Studio with one document).
  const first = await people.pb.getByTestId('doc-view').getAttribute('data-doc-id')
  await people.pb.getByTestId('new-document').click()
  // The new document's view, not the one still on screen while it opens.
  await people.pb.locator(`[data-testid="doc-view"]:not([data-doc-id="${first}"])`).waitFor()
  await people.pb.getByTestId('doc-title-input').fill('Zeppelin notes')
  await people.pb.getByTestId('doc-title-input').press('Enter')
  await editor(people.pb).click()
  await people.pb.keyboard.type('The airship hangar opens in March.\nBring the zeppelin plans.', { delay: 5 })
  await people.pa.getByTestId('doc-item').filter({ hasText: 'Zeppelin notes' }).waitFor({ timeout: 20_000 })

  // Ana searches every document (Ctrl+Shift+F): Ben's words, marked, as soon as they reached her.
  await people.pa.keyboard.press('Control+Shift+F')
  await people.pa.getByTestId('search-input').fill('zeppelin plan')
  const result = people.pa.getByTestId('search-result').filter({ hasText: 'Zeppelin notes' })
  await result.waitFor({ timeout: 20_000 })
  assert.equal(await people.pa.getByTestId('search-result').count(), 1, 'only the document with both words')
  assert.deepEqual(await result.locator('mark').allInnerTexts(), ['zeppelin', 'plans'])
  await people.pa.screenshot({ path: people.shots.path('14-search') })
  await people.pa.getByTestId('search-input').press('Enter')
  await people.pa.getByTestId('search-dialog').waitFor({ state: 'detached' })
  await waitText(people.pa, (t) => t.includes('Bring the zeppelin plans.'), 'the document Ana opened from search')
  // It opens with the hit selected.
  await people.pa.waitForFunction("document.getSelection()?.toString() === 'zeppelin'", null, { timeout: 10_000 })

  // Find and replace in the document (Ctrl+F, CodeMirror's panel): the replacement reaches Ben.
  await editor(people.pa).click()
  await people.pa.keyboard.press('Control+F')
  const panel = people.pa.locator('.cm-search')
  await panel.waitFor()
  await panel.locator('input[name="search"]').fill('March')
  await panel.locator('input[name="replace"]').fill('April')
  await people.pa.screenshot({ path: people.shots.path('15-find-replace') })
  await panel.locator('button[name="replaceAll"]').click()
  await waitText(people.pb, (t) => t.includes('opens in April.') && !t.includes('March'), 'the replacement on Ben’s screen')

  // Delivery receipts: Ana's status, and the teammates panel, say Ben has her latest edit (in his time too).
  await people.pa.keyboard.press('Escape')
  const receipt = people.pa.getByTestId('receipt').filter({ hasText: /^Ben has your latest edit, of \S/ })
  await waitForReceipt(people.pa, receipt)
  await people.pa.getByTestId('teammate-receipt').filter({ hasText: 'Ben has your latest edit' }).waitFor({ timeout: 20_000 })
  await people.pa.screenshot({ path: people.shots.path('18-receipts') })
  await people.pa.getByTestId('sync-status').click()

  // Nothing found says so.
  await people.pa.keyboard.press('Escape')
  await people.pa.keyboard.press('Control+Shift+F')
  await people.pa.getByTestId('search-input').fill('walrus')
  await people.pa.getByTestId('search-empty').waitFor({ timeout: 10_000 })
  await people.pa.keyboard.press('Escape')
}

test(
  'history: Ana reads the version Ben left, with her change since marked, and restores it; Ben gets the restore and sees it in his history',
  {
    skip: problem ?? false,
    timeout: 120_000,
  },
  () => people.run(historyScenario),
)

async function historyScenario(): Promise<void> {
  const { pa, pb } = people
  await pa.getByTestId('doc-item').filter({ hasText: 'Zeppelin notes' }).click()
  await waitText(pa, (t) => t.includes('opens in April.'), 'the document Ana changed')

  // The timeline (Ctrl+Shift+H): Ben's session (he wrote it) and Ana's (her replacement), hers the latest.
  await pa.keyboard.press('Control+Shift+H')
  await pa.getByTestId('history-panel').waitFor()
  const bens = pa.getByTestId('history-session').filter({ hasText: 'Ben' })
  await bens.waitFor({ timeout: 20_000 })
  const first = pa.getByTestId('history-session').first()
  assert.match(await first.innerText(), /^Y\s*You\s/, 'the latest session is Ana’s own')
  assert.match(await first.innerText(), /\+5 −5/, 'March → April: five characters out, five in')
  assert.match(await bens.innerText(), /\+\d+ −\d+ · renamed/)

  // Ben's version, read only: "March" struck (gone since), "April" added since.
  await bens.click()
  await pa.getByTestId('version-view').waitFor()
  const version = pa.getByTestId('version-text')
  await version.locator('.cm-removed-since').filter({ hasText: 'March' }).waitFor({ timeout: 10_000 })
  assert.deepEqual(await version.locator('.cm-added-since').allInnerTexts(), ['April'])
  assert.match(await pa.getByTestId('version-title').innerText(), /^Ben’s version, today /)
  await pa.screenshot({ path: people.shots.path('19-history') })

  // Restore it: the editor is back with March, and Ben receives it as a change of Ana's.
  await pa.getByTestId('version-restore').click()
  await pa.getByTestId('confirm-button').click()
  await pa.getByTestId('version-view').waitFor({ state: 'detached' })
  await waitText(pa, (t) => t.includes('opens in March.') && !t.includes('April'), 'the restored text at Ana')
  await pb.getByTestId('doc-item').filter({ hasText: 'Zeppelin notes' }).click()
  await waitText(pb, (t) => t.includes('opens in March.') && !t.includes('April'), 'the restore on Ben’s screen')
  await pb.getByTestId('history-button').click()
  // Ana's replacement and her restore, minutes apart: one session of hers.
  await pb.getByTestId('history-session').filter({ hasText: 'Ana' }).waitFor({ timeout: 20_000 })
  assert.equal(await pb.getByTestId('history-session').filter({ hasText: 'Ana' }).count(), 1)
  await pb.getByTestId('history-close').click()
  await pa.getByTestId('history-close').click()
  await pa.getByTestId('history-panel').waitFor({ state: 'detached' })
}

test(
  'while you were away: Ana edits, Ben edits the same line while his peer is offline; Ana comes back to a digest naming both, opens the document with what changed marked, marks all read',
  {
    skip: problem ?? false,
    timeout: 120_000,
  },
  () => people.run(digestScenario),
)

async function digestScenario(): Promise<void> {
  const { pa, pb } = people
  const doc = (p: Page) => p.getByTestId('doc-item').filter({ hasText: 'Zeppelin notes' })
  await doc(pa).click()
  await doc(pb).click()
  await waitText(pb, (t) => t.includes('zeppelin plans.'), 'the document on Ben’s screen')

  // Ben's peer stops; Ana adds to the last line and leaves the document; Ben adds to the same line, offline.
  assert.equal(await people.ben.stop(), 0)
  await editor(pa).click()
  await pa.keyboard.press('Control+End')
  await pa.keyboard.type(' Ana: check the mast.', { delay: 5 })
  await pa
    .getByTestId('sync-status')
    .filter({ hasText: /^(?!Saving)/ })
    .waitFor()
  await pa.getByTestId('doc-item').filter({ hasText: 'Untitled' }).click()
  await editor(pb).click()
  await pb.keyboard.press('Control+End')
  await pb.keyboard.type(' Ben: bring rope.', { delay: 5 })
  people.ben = await startUiPeer(people.dirs.ben.path, 'ben-desktop')

  // Ana's digest lists it once Ben's edit arrived; then, as if back after hours, a reload opens it by itself.
  const listed = pa.getByTestId('digest-doc').filter({ hasText: 'Zeppelin notes' })
  for (const deadline = Date.now() + 45_000; ; ) {
    await palette(pa, 'While you were away')
    await pa.getByTestId('digest-dialog').waitFor()
    if (await listed.isVisible().catch(() => false)) break
    await pa.keyboard.press('Escape')
    if (Date.now() > deadline) throw new Error('Ben’s edit never reached Ana’s digest')
    await pa.waitForTimeout(500)
  }
  await pa.keyboard.press('Escape')
  await pa.evaluate(() => {
    for (const k of Object.keys(localStorage)) if (k.startsWith('grapevine.lastActive.')) localStorage.setItem(k, '0')
  })
  await pa.reload()
  await pa.getByTestId('digest-dialog').waitFor({ timeout: 20_000 })
  await listed.waitFor()
  assert.match(await listed.innerText(), /Ben \+\d+ −0/)
  const passage = listed.getByTestId('digest-passage')
  assert.match(
    await passage.innerText(),
    /^you and Ben edited this at the same time: .*mast.*rope|^you and Ben edited this at the same time: .*rope.*mast/s,
  )
  await pa.screenshot({ path: people.shots.path('20-digest') })

  // The document opens with what is new since Ana read it marked.
  await listed.getByRole('button', { name: 'Zeppelin notes' }).click()
  await pa.getByTestId('since-notice').waitFor({ timeout: 10_000 })
  await pa.locator('.cm-new-since').filter({ hasText: 'rope' }).first().waitFor()
  await pa.screenshot({ path: people.shots.path('21-since-read') })
  await pa.getByTestId('since-hide').click()
  assert.equal(await pa.locator('.cm-new-since').count(), 0, 'hidden')

  // Opened, it is read. Ben writes in another document; Ana marks all read: nothing left.
  await pb.getByTestId('doc-item').filter({ hasText: 'Untitled' }).click()
  await editor(pb).click()
  await pb.keyboard.press('Control+End')
  await pb.keyboard.type(' One more thing.', { delay: 5 })
  const untitled = pa.getByTestId('digest-doc').filter({ hasText: 'Untitled' })
  for (const deadline = Date.now() + 30_000; ; ) {
    await palette(pa, 'While you were away')
    await pa.getByTestId('digest-dialog').waitFor()
    if (
      await untitled.waitFor({ timeout: 2_000 }).then(
        () => true,
        () => false,
      )
    )
      break
    await pa.keyboard.press('Escape')
    if (Date.now() > deadline) throw new Error('Ben’s second edit never reached Ana’s digest')
  }
  assert.equal(await pa.getByTestId('digest-doc').count(), 1, 'the document Ana opened is read')
  await pa.getByTestId('digest-mark-all').click()
  await pa.getByTestId('digest-empty').waitFor({ timeout: 10_000 })
  await pa.keyboard.press('Escape')
}

test(
  'export and import: the workspace as a .zip of Markdown and workspace.json, a document as .md; Markdown files and an exported folder imported, seen by Ben',
  {
    skip: problem ?? false,
    timeout: 120_000,
  },
  () => people.run(transferScenario),
)

/** Opens the document status's receipts until `receipt` shows (they follow what Ben tells Ana's peer). */
async function waitForReceipt(p: Page, receipt: ReturnType<Page['getByTestId']>): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    if (!(await p.getByTestId('receipts').isVisible())) await p.getByTestId('sync-status').click()
    if (await receipt.isVisible()) return
    if (Date.now() > deadline) throw new Error(`no such receipt: ${await p.getByTestId('receipts').innerText()}`)
    await p.waitForTimeout(200)
  }
}

/**
 * Opens the command palette. Right after a dialog closed, Ctrl+K was once not taken (1 run in about 12;
 * the palette never opened): it is pressed again if the palette has not opened within 3 s.
 */
async function openPalette(p: Page): Promise<void> {
  await p.keyboard.press('Control+K')
  const input = p.getByTestId('palette-input')
  if (
    await input.waitFor({ timeout: 3_000 }).then(
      () => true,
      () => false,
    )
  )
    return
  await p.keyboard.press('Control+K')
  await input.waitFor()
}

/** Runs a palette action by its label. */
async function palette(p: Page, label: string): Promise<void> {
  await openPalette(p)
  await p.getByTestId('palette-input').fill(label)
  await p.getByTestId('palette-item').filter({ hasText: label }).first().click()
}

async function transferScenario(): Promise<void> {
  const pa = people.pa
  const count = await pa.getByTestId('doc-item').count()

  // The workspace as a .zip: a folder named after it, a file per document, workspace.json.
  await palette(pa, 'Export Studio as Markdown files')
  await pa.getByTestId('export-dialog').waitFor()
  const zipped = pa.waitForEvent('download')
  await pa.getByTestId('export-start').click()
  const zip = await zipped
  assert.equal(zip.suggestedFilename(), 'Studio.zip')
  await pa.getByTestId('export-done').waitFor()
  assert.match(await pa.getByTestId('export-done').innerText(), new RegExp(`Saved Studio.zip: ${count} documents`))
  await pa.screenshot({ path: people.shots.path('16-export') })
  const entries = unzipSync(readFileSync(await zip.path()))
  assert.ok(
    strFromU8(entries['Studio/Zeppelin notes.md']!).includes('opens in March.'),
    'the text as written (restored by the history test)',
  )
  const manifest = JSON.parse(strFromU8(entries['Studio/workspace.json']!))
  assert.equal(manifest.documents.length, count)
  await pa.keyboard.press('Escape')

  // One document as Markdown is offered for the open document. (Its file is checked in lib.test.ts: a
  // second download from one page timed out in 2 of about 9 runs here, whatever started it.)
  await openPalette(pa)
  await pa.getByTestId('palette-input').fill('as Markdown')
  await pa.getByTestId('palette-item').filter({ hasText: 'Export “Zeppelin notes” as Markdown' }).waitFor()
  await pa.keyboard.press('Escape')

  // Markdown files picked one by one: two documents, Ben sees them.
  await palette(pa, 'Import Markdown files')
  await pa.getByTestId('import-dialog').waitFor()
  await pa.getByTestId('import-files').setInputFiles([
    { name: 'Agenda.md', mimeType: 'text/markdown', buffer: Buffer.from('# Agenda\n\n- the walrus question\n') },
    { name: 'Minutes.markdown', mimeType: 'text/markdown', buffer: Buffer.from('Minutes of Monday.') },
  ])
  await pa.getByTestId('import-plan').filter({ hasText: '2 documents to import' }).waitFor()
  await pa.getByTestId('import-start').click()
  await pa.getByTestId('import-done').filter({ hasText: 'Imported 2 documents' }).waitFor({ timeout: 20_000 })
  await pa.screenshot({ path: people.shots.path('17-import') })
  await pa.keyboard.press('Escape')
  for (const title of ['Agenda', 'Minutes']) await people.pb.getByTestId('doc-item').filter({ hasText: title }).waitFor({ timeout: 20_000 })

  // The exported folder, unzipped, picked as a folder: its titles come from workspace.json.
  const folder = mkdtempSync(join(tmpdir(), 'gv-e2e-import-'))
  try {
    for (const [path, bytes] of Object.entries(entries)) {
      mkdirSync(dirname(join(folder, path)), { recursive: true })
      writeFileSync(join(folder, path), bytes)
    }
    await palette(pa, 'Import Markdown files')
    await pa.getByTestId('import-folder').setInputFiles(join(folder, 'Studio'))
    await pa
      .getByTestId('import-plan')
      .filter({ hasText: `${count} documents to import` })
      .waitFor()
    await pa.getByTestId('import-start').click()
    await pa.getByTestId('import-done').waitFor({ timeout: 20_000 })
    await pa.keyboard.press('Escape')
    await pa.getByTestId('doc-item').filter({ hasText: 'Zeppelin notes' }).nth(1).waitFor({ timeout: 20_000 })
    assert.equal(await pa.getByTestId('doc-item').count(), 2 * count + 2)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}
