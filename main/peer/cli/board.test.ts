/**
 * The board commands as a person types them: parsed as the binary parses them (cli/args.ts) and run
 * in-process against one real peer (127.0.0.1, profile in a temp folder), each with its exit code;
 * then the binary itself, in its own process, on the same profile.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BoardView } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import { startPeer, tempDir } from '../test/helpers.ts'
import { commandFor, exitCodeFor, parseCommandLine } from './args.ts'

const dir = tempDir()
let peer: Peer | undefined

after(async () => {
  await peer?.stop()
  dir.remove()
})

interface Result {
  code: number
  out: string
  err: string
}

async function cli(argv: string[]): Promise<Result> {
  const lines: string[] = []
  try {
    const { values, positionals } = parseCommandLine(argv)
    const { command, args, opts } = commandFor(positionals, values)
    await command.run({ client: peer!.connect(), args, opts, out: (l) => lines.push(l) })
    return { code: 0, out: lines.join('\n'), err: '' }
  } catch (err) {
    return { code: exitCodeFor(err), out: lines.join('\n'), err: (err as Error).message }
  }
}

async function ok(...argv: string[]): Promise<string> {
  const r = await cli(argv)
  assert.equal(r.code, 0, `${argv.join(' ')} failed: ${r.err}`)
  return r.out
}

async function exits(code: number, ...argv: string[]): Promise<string> {
  const r = await cli(argv)
  assert.equal(r.code, code, `${argv.join(' ')}: expected exit ${code}, got ${r.code}: ${r.out} ${r.err}`)
  return r.err
}

/** The board as `card list --json` gives it: column names and card titles, in order. */
async function layout(board: string, workspace?: string): Promise<Record<string, string[]>> {
  const b = JSON.parse(await ok('card', 'list', board, '--json', ...(workspace ? ['--workspace', workspace] : []))) as BoardView
  return Object.fromEntries(b.columns.map((c) => [c.name, c.cards.map((k) => k.title)]))
}

test('board, card and column commands: create, add, move, edit, list, delete, my tasks; errors and exit codes', async () => {
  peer = await startPeer(dir.path, { name: 'Ana' })
  await ok('workspace', 'create', 'Studio')
  await ok('doc', 'create', 'Notes')

  assert.match(await ok('board', 'create', 'Sprint'), /^created board [0-9a-f]{32} {2}Sprint$/)
  assert.match(await ok('board', 'create', 'Ops', '--column', 'Backlog', '--column', 'Live'), /created board/)
  assert.match(
    await ok('board', 'list'),
    /^[0-9a-f]{32} {2}Sprint {2}.*\n[0-9a-f]{32} {2}Ops |^[0-9a-f]{32} {2}Ops {2}.*\n[0-9a-f]{32} {2}Sprint /,
  )
  assert.match(await ok('doc', 'list'), /^[0-9a-f]{32} {2}Sprint .*\[board\]$/m)
  assert.doesNotMatch(await ok('doc', 'list'), /Notes.*\[board\]/)
  const list = JSON.parse(await ok('doc', 'list', '--json')) as { title: string; kind: string }[]
  assert.deepEqual(list.map((d) => `${d.title}:${d.kind}`).sort(), ['Notes:text', 'Ops:board', 'Sprint:board'])
  assert.deepEqual(await layout('Ops'), { Backlog: [], Live: [] })

  // Cards: every option of `card add`, and the places.
  const added = await ok(
    ...['card', 'add', 'Sprint', 'Fix login', '--assignee', 'Ana', '--due', '2027-01-31', '--label', 'bug', '--label', 'ui'],
    ...['--description', 'Nobody can log in'],
  )
  const fixId = /^added card ([0-9a-f]{16}) {2}Fix login {2}in To do$/.exec(added)?.[1]
  assert.ok(fixId, added)
  await ok('card', 'add', 'Sprint', 'Write docs')
  await ok('card', 'add', 'Sprint', 'Top', '--position', '1')
  await ok('card', 'add', 'Sprint', 'Mid', '--before', 'Write docs')
  await ok('card', 'add', 'Sprint', 'Shipped thing', '--column', 'done')
  assert.deepEqual(await layout('Sprint'), { 'To do': ['Top', 'Fix login', 'Mid', 'Write docs'], Doing: [], Done: ['Shipped thing'] })
  const text = await ok('card', 'list', 'Sprint')
  assert.match(
    text,
    new RegExp(
      `^Sprint\nTo do \\(4\\)\n {2}[0-9a-f]{8} {2}Top\n {2}${fixId.slice(0, 8)} {2}Fix login {2}@Ana {2}due 2027-01-31 {2}#bug {2}#ui\n {12}Nobody can log in\n`,
    ),
  )

  // Moves: to another column, before a card there, and within a column by place; by id prefix too.
  assert.match(await ok('card', 'move', 'Sprint', fixId.slice(0, 6), 'Doing'), /^moved [0-9a-f]{8} {2}Fix login {2}to Doing, place 1$/)
  await ok('card', 'move', 'Sprint', 'Mid', 'Doing', '--before', 'Fix login')
  assert.match(await ok('card', 'move', 'Sprint', 'Top', 'To do', '--position', '2'), /to To do, place 2/)
  assert.deepEqual(await layout('Sprint'), { 'To do': ['Write docs', 'Top'], Doing: ['Mid', 'Fix login'], Done: ['Shipped thing'] })

  // Edits, then "my tasks".
  assert.match(
    await ok(
      'card',
      'edit',
      'Sprint',
      'Write docs',
      '--title',
      'Write the docs',
      '--assignee',
      'Ana',
      '--label',
      'docs',
      '--due',
      '2027-03-01',
    ),
    /^changed [0-9a-f]{8} {2}Write the docs {2}@Ana {2}due 2027-03-01 {2}#docs$/,
  )
  await ok('card', 'edit', 'Sprint', 'Write the docs', '--label', 'none', '--due', 'none')
  const tasks = await ok('tasks')
  assert.equal(
    tasks,
    `Sprint / To do  ${(await cardId('Sprint', 'Write the docs')).slice(0, 8)}  Write the docs\nSprint / Doing  ${fixId.slice(0, 8)}  Fix login  due 2027-01-31  #bug  #ui`,
  )
  await ok('card', 'edit', 'Sprint', 'Write the docs', '--assignee', 'none')
  assert.equal((await ok('tasks')).split('\n').length, 1)

  // Delete a card; columns: add at a place, rename, delete (its cards go to the first column).
  assert.match(await ok('card', 'delete', 'Sprint', 'Mid'), /^deleted card [0-9a-f]{8} {2}Mid$/)
  assert.match(await ok('column', 'add', 'Sprint', 'Review', '--position', '2'), /^added column [0-9a-f]{16} {2}Review$/)
  await ok('column', 'rename', 'Sprint', 'Review', 'QA')
  assert.equal(await ok('column', 'delete', 'Sprint', 'Doing'), 'deleted column Doing; 1 card moved to To do')
  assert.deepEqual(await layout('Sprint'), { 'To do': ['Write the docs', 'Top', 'Fix login'], QA: [], Done: ['Shipped thing'] })

  // Wrong input: a clear message and an exit code (3 not found, 2 usage, 1 refused).
  assert.match(await exits(3, 'card', 'list', 'Nope'), /No board "Nope"/)
  assert.match(await exits(3, 'card', 'list', 'Notes'), /is a text document, not a board/)
  assert.match(await exits(2, 'card', 'add', 'Sprint', 'X', '--due', '2027-02-30'), /--due takes a date as YYYY-MM-DD/)
  await exits(2, 'card', 'add', 'Sprint', 'X', '--due', 'tomorrow')
  assert.match(await exits(3, 'card', 'add', 'Sprint', 'X', '--assignee', 'Zed'), /No member "Zed"/)
  assert.match(
    await exits(3, 'card', 'add', 'Sprint', 'X', '--column', 'Nope'),
    /No column "Nope" on "Sprint" \(columns: To do, QA, Done\)/,
  )
  await exits(2, 'card', 'add', 'Sprint', 'X', '--column', 'QA', '--column', 'Done')
  await exits(2, 'card', 'add', 'Sprint', '')
  assert.match(await exits(3, 'card', 'move', 'Sprint', 'Nope', 'Done'), /No card "Nope"/)
  await exits(3, 'card', 'move', 'Sprint', 'Top', 'Nope')
  assert.match(await exits(2, 'card', 'move', 'Sprint', 'Top', 'Done', '--before', 'Shipped thing', '--position', '1'), /not both/)
  await exits(2, 'card', 'move', 'Sprint', 'Top', 'Done', '--position', '0')
  // --before names a card of another column: the peer refuses (not found there).
  await exits(3, 'card', 'move', 'Sprint', 'Top', 'Done', '--before', 'Fix login')
  await exits(2, 'card', 'move', 'Sprint')
  assert.match(await exits(2, 'card', 'edit', 'Sprint', 'Top'), /nothing to change/)
  await exits(3, 'card', 'delete', 'Sprint', 'Mid')
  await exits(3, 'column', 'rename', 'Sprint', 'Nope', 'X')
  await ok('column', 'delete', 'Ops', 'Live')
  assert.match(await exits(1, 'column', 'delete', 'Ops', 'Backlog'), /keeps at least one column/)
  await exits(2, 'card', 'frobnicate')
  assert.deepEqual(
    await layout('Sprint'),
    { 'To do': ['Write the docs', 'Top', 'Fix login'], QA: [], Done: ['Shipped thing'] },
    'no failed command changed the board',
  )

  // Export and import: the boards travel whole in workspace.json and come back as boards.
  const folder = join(dir.path, 'export')
  assert.match(await ok('export', folder, '--workspace', 'Studio'), /exported 3 documents of "Studio"/)
  assert.deepEqual(readdirSync(folder).sort(), ['Notes.md', 'workspace.json'])
  await ok('workspace', 'create', 'Copy')
  // Both boards, in the order the export listed them (newest change first: edits are timed to the second, so
  // Sprint and Ops may come either way), then the count.
  const imported = await ok('import', folder, '--workspace', 'Copy')
  assert.match(imported, /^imported board Sprint$/m)
  assert.match(imported, /^imported board Ops$/m)
  assert.match(imported, /\nimported 3 documents$/)
  assert.deepEqual(await layout('Sprint', 'Copy'), await layout('Sprint', 'Studio'))
  const copied = JSON.parse(await ok('card', 'list', 'Sprint', '--workspace', 'Copy', '--json')) as BoardView
  const fix = copied.columns.flatMap((c) => c.cards).find((k) => k.title === 'Fix login')!
  // Ana is a member of Copy too (its owner): the card stays hers.
  assert.deepEqual(
    [fix.assignee, fix.due, fix.labels, fix.description],
    [peer.device.deviceId, '2027-01-31', ['bug', 'ui'], 'Nobody can log in'],
  )

  // The binary itself, in its own process, on the same profile: its options and exit codes.
  await peer.stop()
  peer = undefined
  const listed = await bin(['card', 'list', 'Sprint', '--workspace', 'Studio'])
  assert.equal(listed.code, 0, listed.err)
  assert.match(listed.out, /^Sprint\nTo do \(3\)\n/)
  const bad = await bin(['card', 'add', 'Sprint', 'X', '--due', 'soon', '--workspace', 'Studio'])
  assert.equal(bad.code, 2, bad.err)
  assert.match(bad.err, /--due takes a date/)
})

async function cardId(board: string, title: string): Promise<string> {
  const b = JSON.parse(await ok('card', 'list', board, '--json')) as { columns: { cards: { id: string; title: string }[] }[] }
  return b.columns.flatMap((c) => c.cards).find((c) => c.title === title)!.id
}

function bin(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const file = fileURLToPath(new URL('./bin.ts', import.meta.url))
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [file, ...args, '--profile', dir.path, '--host', '127.0.0.1', '--no-mdns', '--wait', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d))
    p.stderr.on('data', (d: Buffer) => (err += d))
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000)
    p.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out: out.trim(), err: err.trim() })
    })
  })
}
