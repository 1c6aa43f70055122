/**
 * Teammates and invites as an owner manages them: two peers in separate processes in browser mode,
 * two Chromium pages. Ana (owner) invites Ben; makes him a viewer (his editor turns read-only);
 * removes him after a confirmation that says what removal does and does not do; cannot leave her
 * own workspace; lists, makes and revokes invites; Ben comes back with a new invite and leaves from
 * the command palette. Screenshots go to a temp folder, or to docs/screenshots/ with `npm run screenshots`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { browserProblem, onboard, twoPeople } from './harness.ts'

const problem = browserProblem()
if (problem && process.env['CI']) throw new Error(`end-to-end tests cannot run: ${problem}`)
if (problem) console.log(`end-to-end tests skipped: ${problem}`)

const people = twoPeople(problem)

const LONG = { timeout: 30_000 }

/** Ben, at the join step, joins with Ana's code; Ana accepts him in her open invite dialog. */
async function benJoins(code: string): Promise<void> {
  await people.pb.getByTestId('join-code-input').fill(code)
  await people.pb.getByRole('button', { name: 'Check invite' }).click()
  await people.pb.getByTestId('join-button').click()
  await people.pa.getByTestId('join-request').waitFor(LONG)
  assert.equal(await people.pa.getByTestId('join-request-name').innerText(), 'Ben')
  await people.pa.getByTestId('join-accept').click()
  await people.pb.getByTestId('sidebar').waitFor(LONG)
}

test(
  'an owner manages teammates: role, removal with its consequences, invites listed and revoked, leaving',
  {
    skip: problem ?? false,
    timeout: 300_000,
  },
  () => people.run(scenario),
)

async function scenario(): Promise<void> {
  await onboard(people.pa, people.ana.url, 'Ana')
  await people.pa.getByTestId('workspace-name-input').fill('Studio')
  await people.pa.getByTestId('workspace-name-input').press('Enter')
  await people.pa.getByTestId('sidebar').waitFor()
  await onboard(people.pb, people.ben.url, 'Ben')

  // The invite dialog makes an invite that asks Ana first, and lists it as open.
  await people.pa.getByTestId('invite-button').click()
  const code = await people.pa.getByTestId('invite-code').inputValue()
  const firstRows = people.pa.getByTestId('invite-row')
  await firstRows.first().waitFor()
  assert.equal(await firstRows.count(), 1)
  assert.match(await firstRows.first().innerText(), /Editor · asks you first · expires in 24 hours/)
  assert.equal(await people.pa.getByTestId('invite-no-approval').isChecked(), false, 'approval is the default')
  await benJoins(code)
  await people.pa.keyboard.press('Escape')
  await people.pa.getByTestId('invite-dialog').waitFor({ state: 'detached' })

  // Ben writes in a document of his own.
  await people.pb.getByTestId('new-document').click()
  await people.pb.getByTestId('editor').locator('.cm-content').click()
  await people.pb.keyboard.type('Notes from Ben.', { delay: 10 })
  const benEditor = people.pb.getByTestId('editor').locator('.cm-content')
  assert.equal(await benEditor.getAttribute('contenteditable'), 'true')

  // Ana sees Ben and every role; she alone (the owner) has no menu of her own.
  const benRow = people.pa.locator('[data-testid="teammate"]', {
    has: people.pa.getByTestId('teammate-name').getByText('Ben', { exact: true }),
  })
  await benRow.waitFor(LONG)
  const benId = await benRow.getAttribute('data-device')
  assert.ok(benId)
  assert.equal(await benRow.getByTestId('teammate-role').innerText(), 'Editor')
  // Ben wrote with the workspace's key: the panel shows him holding it without a reload.
  await people.pa
    .locator('[data-testid="teammate"][data-key="current"]', { has: people.pa.getByText('Ben', { exact: true }) })
    .waitFor(LONG)
  await people.pa.getByTestId('key-status').filter({ hasText: 'all 2 teammates have the current key' }).waitFor(LONG)
  // The network view says how Ben is reached (both peers are on this machine: "On this LAN").
  await people.pa.getByTestId('network-button').click()
  const benPeer = people.pa.locator(`[data-testid="peer-row"][data-online="true"]`, { hasText: 'Ben' })
  await benPeer
    .getByTestId('peer-reach')
    .filter({ hasText: /^On this LAN/ })
    .waitFor(LONG)
  await people.pa.keyboard.press('Escape')
  await benPeer.waitFor({ state: 'detached' })
  const anaRow = people.pa.locator('[data-testid="teammate"][data-role="owner"]')
  assert.equal(await anaRow.getByTestId('teammate-role').innerText(), 'Owner')
  assert.equal(await anaRow.getByTestId('teammate-manage').count(), 0)
  // By keyboard: Enter opens Ben's actions, Escape closes them and gives the focus back.
  const manage = benRow.getByTestId('teammate-manage')
  assert.equal(await manage.getAttribute('aria-label'), 'Manage Ben')
  await manage.focus()
  await people.pa.keyboard.press('Enter')
  const actions = benRow.getByTestId('teammate-actions')
  await actions.waitFor()
  assert.equal(await manage.getAttribute('aria-expanded'), 'true')
  await people.pa.keyboard.press('Tab')
  assert.equal(await actions.getByTestId('set-role-admin').evaluate((el) => el.matches(':focus')), true)
  await people.pa.keyboard.press('Escape')
  await actions.waitFor({ state: 'detached' })
  assert.equal(await manage.evaluate((el) => el.matches(':focus')), true)
  await people.pa.keyboard.press('Enter')
  await actions.waitFor()
  for (const r of ['admin', 'editor', 'viewer', 'keeper'])
    assert.equal(await actions.getByTestId(`set-role-${r}`).count(), 1, `owner offers ${r}`)
  assert.equal(await actions.getByTestId('set-role-editor').getAttribute('aria-pressed'), 'true')
  await people.pa.screenshot({ path: people.shots.path('09-teammate-actions') })

  // Ben becomes a viewer: Ana's panel says so, and Ben's editor turns read-only with a notice.
  await actions.getByTestId('set-role-viewer').click()
  await people.pa.locator(`[data-testid="teammate"][data-device="${benId}"][data-role="viewer"]`).waitFor(LONG)
  assert.equal(await benRow.getByTestId('teammate-role').innerText(), 'Viewer')
  await people.pb.getByText('You can read this workspace but not change it (viewer).').waitFor(LONG)
  await people.pb.locator('[data-testid="editor"] .cm-content[contenteditable="false"]').waitFor(LONG)
  assert.equal(await people.pb.getByTestId('new-document').count(), 0, 'a viewer has no New button')
  const before = await benEditor.innerText()
  await benEditor.click()
  await people.pb.keyboard.type('more', { delay: 10 })
  assert.equal(await benEditor.innerText(), before, "a viewer's keys change nothing")
  assert.equal(await people.pb.locator('[data-testid="teammate"][data-role="viewer"]').getByTestId('teammate-name').innerText(), 'Ben')

  // Removal asks first, saying what it does and does not do; then Ben is gone from Ana's panel.
  await benRow.getByTestId('teammate-remove').click()
  const confirm = people.pa.getByTestId('confirm-dialog')
  await confirm.waitFor()
  assert.match(await confirm.getByRole('heading').innerText(), /^Remove Ben from Studio\?$/)
  const message = await confirm.getByTestId('confirm-message').innerText()
  assert.match(
    message,
    /Ben’s device stops receiving anything new from Studio and cannot change it any more: Studio gets a new key that Ben’s device never receives\./,
    'what it does',
  )
  assert.match(message, /Ben keeps the copies of documents that are already on that device\./, 'what it does not do')
  await people.pa.screenshot({ path: people.shots.path('10-remove-confirm') })
  await confirm.getByTestId('confirm-button').click()
  await confirm.waitFor({ state: 'detached' })
  await people.pa.locator(`[data-testid="teammate"][data-device="${benId}"]`).waitFor({ state: 'detached', ...LONG })
  assert.equal(await people.pa.getByTestId('teammate').count(), 1)
  // The removal made a new content key: the panel says who has it (Ana alone is left to read).
  await people.pa.getByTestId('key-status').filter({ hasText: 'teammate has the new key' }).waitFor(LONG)
  assert.match(await people.pa.getByTestId('key-status').innerText(), /^1 teammate has the new key\.$/)
  // Ben's window says what happened.
  await people.pb.getByTestId('app-notice').waitFor(LONG)
  assert.match(
    await people.pb.getByTestId('app-notice').innerText(),
    /You are no longer a member of Studio: an admin removed this device\./,
  )

  // The owner cannot leave: the button is disabled with the reason; the palette does not offer it.
  await people.pa.getByTestId('workspace-settings').click()
  assert.equal(await people.pa.getByTestId('leave-workspace').isDisabled(), true)
  assert.match(await people.pa.getByTestId('leave-disabled-reason').innerText(), /owner cannot leave/)
  await people.pa.screenshot({ path: people.shots.path('12-owner-cannot-leave') })
  await people.pa.keyboard.press('Escape')
  await people.pa.getByTestId('workspace-dialog').waitFor({ state: 'detached' })
  await people.pa.keyboard.press('Control+k')
  await people.pa.getByTestId('palette-input').fill('Leave')
  assert.equal(await people.pa.getByTestId('palette-item').filter({ hasText: 'Leave Studio' }).count(), 0)
  await people.pa.keyboard.press('Escape')
  await people.pa.getByTestId('command-palette').waitFor({ state: 'detached' })

  // Invites: the used one is closed, so a new one is shown; another without approval, for viewers,
  // for an hour; both listed; revoking one takes it off the list.
  await people.pa.getByTestId('invite-button').click()
  const code2 = await people.pa.getByTestId('invite-code').inputValue()
  assert.notEqual(code2, code)
  const rows = people.pa.getByTestId('invite-row')
  await rows.first().waitFor()
  assert.equal(await rows.count(), 1)
  assert.deepEqual(
    await people.pa.getByTestId('invite-role').locator('option').allInnerTexts(),
    ['Viewer', 'Editor', 'Admin', 'Keeper'],
    'the owner invites any role but owner',
  )
  await people.pa.getByTestId('invite-role').selectOption('viewer')
  await people.pa.getByTestId('invite-ttl').selectOption({ label: '1 hour' })
  await people.pa.getByTestId('invite-no-approval').check()
  assert.match(await people.pa.getByTestId('invite-no-approval-warning').innerText(), /joins as viewer without you comparing safety words/)
  await people.pa.getByTestId('invite-create').click()
  await rows.nth(1).waitFor()
  assert.equal(await rows.count(), 2)
  const viewerRow = rows.filter({ hasText: 'Viewer · joins without asking · expires in 60 minutes' })
  assert.equal(await viewerRow.count(), 1)
  const viewerId = await viewerRow.getAttribute('data-invite-id')
  await people.pa.getByTestId('invite-no-approval').uncheck()
  await people.pa.screenshot({ path: people.shots.path('11-invites') })
  await viewerRow.getByTestId('invite-revoke').click()
  await people.pa.locator(`[data-testid="invite-row"][data-invite-id="${viewerId}"]`).waitFor({ state: 'detached' })
  assert.equal(await rows.count(), 1)
  // The revoked invite was the one shown: the dialog says so instead of showing its code.
  assert.match(await people.pa.getByTestId('invite-closed').innerText(), /You revoked this invite/)

  // Ben comes back with a new invite (the editor one that asks first), then leaves from the palette.
  await people.pa.getByRole('button', { name: 'Make a new invite' }).click()
  const code3 = await people.pa.getByTestId('invite-code').inputValue()
  await people.pb.getByTestId('name-input').press('Enter')
  await benJoins(code3)
  assert.equal(await people.pb.getByTestId('app-notice').count(), 0, 'the notice of the removal goes once Ben is back')
  await people.pa.keyboard.press('Escape')
  await people.pa.getByTestId('invite-dialog').waitFor({ state: 'detached' })
  await people.pa.locator(`[data-testid="teammate"][data-device="${benId}"][data-role="editor"]`).waitFor(LONG)
  await people.pb.keyboard.press('Control+k')
  await people.pb.getByTestId('palette-input').fill('Leave Studio')
  await people.pb.keyboard.press('Enter')
  const leave = people.pb.getByTestId('confirm-dialog')
  await leave.waitFor()
  assert.equal(await leave.getByRole('heading').innerText(), 'Leave Studio?')
  assert.equal(
    await leave.getByTestId('confirm-message').innerText(),
    'Your documents stay on this device but are no longer shown; to come back you need a new invite.',
  )
  await people.pb.screenshot({ path: people.shots.path('13-leave-confirm') })
  await leave.getByTestId('confirm-button').click()
  await people.pb.getByTestId('onboarding').waitFor(LONG)
  await people.pb
    .getByTestId('app-notice')
    .filter({ hasText: /^You left Studio\. / })
    .waitFor(LONG)
  await people.pa.locator(`[data-testid="teammate"][data-device="${benId}"]`).waitFor({ state: 'detached', ...LONG })
}
