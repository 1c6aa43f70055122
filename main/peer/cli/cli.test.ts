/**
 * The headless CLI as a person uses it: separate OS processes, an always-on peer (`run`) and
 * one-shot commands, both against the running peer (control socket) and on a free profile.
 * Every peer listens on 127.0.0.1 with mDNS off.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir, waitFor } from '../test/helpers.ts'

const BIN = fileURLToPath(new URL('./bin.ts', import.meta.url))
const LOCAL = ['--host', '127.0.0.1', '--no-mdns']
const dirs = {
  a: tempDir(),
  b: tempDir(),
  c: tempDir(),
  files: tempDir(),
  ana: tempDir(),
  bob: tempDir(),
  cat: tempDir(),
  dan: tempDir(),
  eve: tempDir(),
}
const running: ChildProcess[] = []

after(() => {
  for (const p of running) if (p.exitCode === null) p.kill('SIGKILL')
  for (const d of Object.values(dirs)) d.remove()
})

interface Result {
  code: number | null
  out: string
  err: string
}

function cli(profile: string, args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args, '--profile', profile, ...LOCAL, '--wait', '2'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d))
    p.stderr.on('data', (d: Buffer) => (err += d))
    p.stdin.end(input ?? '')
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000)
    p.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out: out.trim(), err: err.trim() })
    })
  })
}

async function ok(profile: string, args: string[], input?: string): Promise<string> {
  const r = await cli(profile, args, input)
  assert.equal(r.code, 0, `${args.join(' ')} failed: ${r.err}`)
  return r.out
}

/** Fails with the command's output unless it exits with `code`; the output otherwise. */
async function exits(code: number, profile: string, args: string[], input?: string): Promise<Result> {
  const r = await cli(profile, args, input)
  assert.equal(r.code, code, `${args.join(' ')}: expected exit ${code}, got ${r.code}: ${r.out} ${r.err}`)
  return r
}

function startRun(profile: string, name: string): Promise<{ proc: ChildProcess; log: () => string }> {
  const proc = spawn(process.execPath, [BIN, 'run', '--profile', profile, '--name', name, ...LOCAL], { stdio: ['ignore', 'pipe', 'pipe'] })
  running.push(proc)
  let log = ''
  proc.stdout!.on('data', (d: Buffer) => (log += d))
  proc.stderr!.on('data', (d: Buffer) => (log += d))
  return waitFor('the peer to listen', () => log.includes('listening on'), 30_000).then(() => ({ proc, log: () => log }))
}

test('two people, one always-on peer and one-shot commands: workspace, invite, join, documents, errors', async () => {
  const a = await startRun(dirs.a.path, 'Ana')

  // One-shot commands against the running peer go through its control socket.
  assert.match(await ok(dirs.a.path, ['workspace', 'create', 'Studio']), /created workspace "Studio"/)
  const code = (await ok(dirs.a.path, ['invite', '--ttl', '1h', '--no-approval'])).split('\n')[0]!
  assert.match(code, /^GV1\./)

  // Bob has no running peer: his commands open his profile for their duration.
  assert.match(await ok(dirs.b.path, ['join', code, '--name', 'Bob']), /joined "Studio"/)
  const file = join(dirs.files.path, 'plan.md')
  writeFileSync(file, '# Plan\n\n- ship the peer\n')
  const created = await ok(dirs.a.path, ['doc', 'create', 'Plan', '--file', file])
  const docId = /created ([0-9a-f]{32})/.exec(created)?.[1]
  assert.ok(docId, created)
  assert.equal(await ok(dirs.b.path, ['doc', 'print', 'Plan']), '# Plan\n\n- ship the peer')
  await ok(dirs.b.path, ['doc', 'write', docId.slice(0, 8), '-'], '# Plan\n\n- ship the peer\n- and the app\n')
  await waitFor(
    "Bob's edit on Ana's always-on peer",
    async () => (await cli(dirs.a.path, ['doc', 'print', 'Plan'])).out === '# Plan\n\n- ship the peer\n- and the app',
    30_000,
    200,
  )
  await ok(dirs.a.path, ['doc', 'rename', 'Plan', 'Roadmap'])
  const list = JSON.parse(await ok(dirs.b.path, ['doc', 'list', '--json'])) as { title: string; lastChangeByName: string }[]
  assert.deepEqual(
    list.map((d) => d.title),
    ['Roadmap'],
  )
  const members = JSON.parse(await ok(dirs.a.path, ['members', '--json'])) as { name: string; role: string }[]
  assert.deepEqual(members.map((m) => `${m.name}:${m.role}`).sort(), ['Ana:owner', 'Bob:editor'])
  assert.match(await ok(dirs.a.path, ['doc', 'status', 'Roadmap']), /saved on this device/)
  assert.match(await ok(dirs.a.path, ['peers']), /Bob/)
  // Search: Bob's words, on Ana's peer; exit codes for no words and for too many.
  assert.match(await ok(dirs.a.path, ['search', 'ship', 'app']), /^Roadmap {2}[0-9a-f]{32} {2}in Studio {2}at \d+\n {2}.*\[ship\].*\[app\]/)
  assert.match(await ok(dirs.a.path, ['search', 'zebra']), /nothing found for "zebra"/)
  assert.equal((await cli(dirs.a.path, ['search'])).code, 2)
  assert.equal((await cli(dirs.a.path, ['search', 'x'.repeat(300)])).code, 2)
  assert.match(await ok(dirs.a.path, ['search', '--rebuild']), /^indexed 1 document$/)
  await ok(dirs.a.path, ['doc', 'delete', 'Roadmap'])
  assert.match(await ok(dirs.a.path, ['search', 'ship']), /nothing found/)
  assert.equal(await ok(dirs.a.path, ['doc', 'list']), 'no documents')

  // Wrong input: a clear message and an exit code.
  const used = await cli(dirs.c.path, ['join', code])
  assert.equal(used.code, 4, used.err)
  assert.match(used.err, /used already/)
  const garbage = await cli(dirs.c.path, ['join', 'GV1.bm9wZQ'])
  assert.equal(garbage.code, 4, garbage.err)
  const shortLived = (await ok(dirs.a.path, ['invite', '--ttl', '1s'])).split('\n')[0]!
  await new Promise((r) => setTimeout(r, 1500))
  const expired = await cli(dirs.c.path, ['join', shortLived])
  assert.equal(expired.code, 4, expired.err)
  assert.match(expired.err, /expired/)
  const unknown = await cli(dirs.a.path, ['doc', 'print', 'nope'])
  assert.equal(unknown.code, 3, unknown.err)
  const locked = await cli(dirs.a.path, ['run'])
  assert.equal(locked.code, 6, locked.err)
  assert.match(locked.err, /in use by another Grapevine peer/)
  const usage = await cli(dirs.a.path, ['frobnicate'])
  assert.equal(usage.code, 2, usage.err)
  const badOption = await cli(dirs.a.path, ['whoami', '--colour'])
  assert.equal(badOption.code, 2, badOption.err)
  const pid = (await ok(dirs.a.path, ['addresses'])).split('\n')[0]!
  const unreachable = await cli(dirs.c.path, ['dial', `/ip4/127.0.0.1/tcp/1/p2p/${pid}`])
  assert.equal(unreachable.code, 5, unreachable.err)

  // An invite from a peer that has gone away: unreachable.
  const lastInvite = (await ok(dirs.a.path, ['invite'])).split('\n')[0]!
  a.proc.kill('SIGTERM')
  const [exitCode] = await new Promise<[number | null]>((r) => a.proc.once('exit', (c) => r([c])))
  assert.equal(exitCode, 0)
  assert.match(a.log(), /peer stopped/)
  const gone = await cli(dirs.c.path, ['join', lastInvite])
  assert.equal(gone.code, 5, gone.err)
  assert.match(gone.err, /Could not reach the inviter/)
})

test('export and import from the command line: a folder of Markdown and workspace.json, and back; errors and exit codes', async () => {
  const me = dirs.eve.path
  // An always-on peer: the one-shot commands go through its control socket instead of opening the profile each.
  const eve = await startRun(me, 'Eve')
  await ok(me, ['workspace', 'create', 'Exports'])
  const file = join(dirs.files.path, 'road.md')
  writeFileSync(file, '# Road\n\n- one\n')
  await ok(me, ['doc', 'create', 'Road: map?', '--file', file])
  await ok(me, ['doc', 'create', 'CON'])
  const out = join(dirs.files.path, 'export')
  assert.match(await ok(me, ['export', out]), /exported 2 documents of "Exports" to /)
  assert.deepEqual(readdirSync(out).sort(), ['CON-.md', 'Road- map-.md', 'workspace.json'])
  assert.equal(readFileSync(join(out, 'Road- map-.md'), 'utf8'), '# Road\n\n- one\n')
  const manifest = JSON.parse(readFileSync(join(out, 'workspace.json'), 'utf8'))
  assert.deepEqual(manifest.documents.map((d: { title: string }) => d.title).sort(), ['CON', 'Road: map?'])
  assert.equal((await cli(me, ['export', out])).code, 2, 'nothing is overwritten')

  // Back in: a second workspace gets the same titles and texts.
  await ok(me, ['workspace', 'create', 'Imports'])
  writeFileSync(join(out, 'photo.png'), 'not markdown')
  const imported = await ok(me, ['import', out, '--workspace', 'Imports'])
  assert.match(imported, /imported 2\/2 {2}Road- map-\.md/)
  assert.match(imported, /imported 2 documents\nleft out \(not Markdown\): photo\.png/)
  const back = JSON.parse(await ok(me, ['doc', 'list', '--workspace', 'Imports', '--json'])) as { title: string }[]
  assert.deepEqual(back.map((d) => d.title).sort(), ['CON', 'Road: map?'])
  assert.equal(await ok(me, ['doc', 'print', 'Road: map?', '--workspace', 'Imports']), '# Road\n\n- one')

  // Refused, with the reason: no such folder, a workspace.json that is not ours.
  const missing = await cli(me, ['import', join(dirs.files.path, 'nope'), '--workspace', 'Imports'])
  assert.equal(missing.code, 2)
  assert.match(missing.err, /is not a folder/)
  writeFileSync(join(out, 'workspace.json'), '{"format":"else"}')
  const foreign = await cli(me, ['import', out, '--workspace', 'Imports'])
  assert.equal(foreign.code, 2)
  assert.match(foreign.err, /not a Grapevine export/)

  // History: a second edit, the timeline, a version printed, a restore; refused versions with their exit codes.
  writeFileSync(file, '# Road\n\n- one\n- two\n')
  await ok(me, ['doc', 'write', 'Road: map?', file, '--workspace', 'Exports'])
  const history = await ok(me, ['doc', 'history', 'Road: map?', '--workspace', 'Exports'])
  const lines = history.split('\n')
  assert.equal(lines.length, 1, `both edits now, by Eve: one session\n${history}`)
  // The two edits may fall either side of a minute: the session then shows from one to the other.
  assert.match(lines[0]!, /^[0-9a-f]{10} {2}You · \d\d:\d\d UTC(–\d\d:\d\d UTC)? · \+20 −0 · renamed$/)
  const hist = JSON.parse(await ok(me, ['doc', 'history', 'Road: map?', '--workspace', 'Exports', '--json'])) as {
    sessions: { version: string }[]
  }
  assert.equal(hist.sessions[0]!.version.slice(0, 10), lines[0]!.slice(0, 10))
  await ok(me, ['doc', 'write', 'Road: map?', join(dirs.files.path, 'export', 'CON-.md'), '--workspace', 'Exports'])
  const latest = JSON.parse(await ok(me, ['doc', 'history', 'Road: map?', '--workspace', 'Exports', '--json'])).sessions[0].version
  assert.equal(await ok(me, ['doc', 'print', 'Road: map?', '--workspace', 'Exports', '--at', latest.slice(0, 8)]), '')
  const v1 = hist.sessions[0]!.version
  assert.equal(await ok(me, ['doc', 'print', 'Road: map?', '--workspace', 'Exports', '--at', v1]), '# Road\n\n- one\n- two')
  assert.match(
    await ok(me, ['doc', 'restore', 'Road: map?', v1.slice(0, 12), '--workspace', 'Exports']),
    /^restored "Road: map\?" to version [0-9a-f]{10}$/,
  )
  assert.equal(await ok(me, ['doc', 'print', 'Road: map?', '--workspace', 'Exports']), '# Road\n\n- one\n- two')
  assert.equal((await cli(me, ['doc', 'print', 'Road: map?', '--workspace', 'Exports', '--at', 'ffffff'])).code, 3, 'no such version')
  assert.equal((await cli(me, ['doc', 'restore', 'Road: map?', 'xyz', '--workspace', 'Exports'])).code, 2, 'not a version')
  assert.equal((await cli(me, ['doc', 'history', 'nothing-like-it', '--workspace', 'Exports'])).code, 3, 'no such document')
  // The digest: only Eve wrote here, so nothing of teammates' is new, since her reads or since any time.
  assert.match(await ok(me, ['digest', '--workspace', 'Exports']), /^nothing new since \S/)
  assert.match(await ok(me, ['digest', '--workspace', 'Exports', '--since', '2026-01-01']), /^nothing new since 2026-01-01 00:00 UTC$/)
  assert.equal(JSON.parse(await ok(me, ['digest', '--workspace', 'Exports', '--since', '12h', '--json'])).documents.length, 0)
  assert.equal((await cli(me, ['digest', '--workspace', 'Exports', '--since', 'yesterday'])).code, 2, 'not a time')
  eve.proc.kill('SIGTERM')
  await new Promise((r) => eve.proc.once('exit', r))
})

test('members and invites from the command line: approval, requests, list, revoke, decline, roles, removal', async () => {
  const { ana, bob, cat, dan } = { ana: dirs.ana.path, bob: dirs.bob.path, cat: dirs.cat.path, dan: dirs.dan.path }
  const a = await startRun(ana, 'Ana')
  await ok(ana, ['workspace', 'create', 'Studio'])
  const requestsSeen = (): number =>
    a
      .log()
      .split('\n')
      .filter((l) => l.startsWith('join request ')).length

  // A script's invite: the code alone admits.
  const bearer = await ok(ana, ['invite', '--no-approval'])
  assert.match(bearer, /anyone holding this code can join/)
  assert.match(await ok(bob, ['join', bearer.split('\n')[0]!, '--name', 'Bob']), /joined "Studio" .* as editor/)

  // By default a join waits: the running peer prints the request with the words; `requests` lists it; `accept` lets Cat in.
  const approved = await ok(ana, ['invite'])
  assert.match(approved, /a join waits for you/)
  const catJoin = cli(cat, ['join', approved.split('\n')[0]!, '--name', 'Cat'])
  await waitFor('the join request on the running peer', () => requestsSeen() === 1, 30_000, 100)
  assert.match(a.log(), /join request [0-9a-f]{16}: Cat asks to join "Studio"[^\n]*\n {2}their safety words: \S+/)
  const waiting = await ok(ana, ['requests'])
  const catWords = /their safety words: (.+)/.exec(waiting)?.[1]
  assert.ok(catWords, waiting)
  assert.match(await ok(ana, ['accept', 'Cat']), /accepted Cat into "Studio"/)
  const joined = await catJoin
  assert.equal(joined.code, 0, joined.err)
  assert.match(joined.out, new RegExp(`read them your safety words: ${catWords}`), 'Cat read out the words Ana compared')
  assert.match(joined.out, /joined "Studio" .* as editor/)
  assert.equal(await ok(ana, ['requests']), 'no join requests waiting')

  // invite list / revoke: a revoked invite is refused with its reason.
  assert.equal(await ok(ana, ['invite', 'list']), 'no open invites')
  const spare = await ok(ana, ['invite', '--ttl', '2h', '--role', 'viewer'])
  const spareId = /invite ([0-9a-f]{16})/.exec(spare)?.[1]
  assert.ok(spareId, spare)
  assert.match(await ok(ana, ['invite', 'list']), new RegExp(`^${spareId}  open +viewer approval`))
  assert.equal((await ok(ana, ['invite', 'list', '--all'])).split('\n').length, 3)
  assert.match(await ok(ana, ['invite', 'revoke', spareId.slice(0, 6)]), new RegExp(`revoked invite ${spareId}`))
  const revoked = await exits(4, dan, ['join', spare.split('\n')[0]!])
  assert.match(revoked.err, /revoked/)
  await exits(3, ana, ['invite', 'revoke', 'ffffffffffffffff'])

  // A declined join uses the invite up.
  const declinable = (await ok(ana, ['invite'])).split('\n')[0]!
  const danJoin = cli(dan, ['join', declinable, '--name', 'Dan'])
  await waitFor("Dan's join request", () => requestsSeen() === 2, 30_000, 100)
  assert.match(await ok(ana, ['decline', 'Dan']), /declined Dan/)
  const declined = await danJoin
  assert.equal(declined.code, 7, declined.err)
  const again = await exits(4, dan, ['join', declinable])
  assert.match(again.err, /declined/)
  await exits(3, ana, ['accept', 'Dan'])

  // TTL cap, admin invites (owner only), and an editor cannot invite.
  await exits(2, ana, ['invite', '--ttl', '8d'])
  assert.match(await ok(ana, ['invite', '--role', 'admin']), /role admin/)
  assert.match(await ok(ana, ['invite', '--role', 'keeper']), /role keeper/)
  assert.match((await exits(2, ana, ['invite', '--role', 'god'])).err, /--role is admin, editor, viewer, keeper/)
  await exits(7, bob, ['invite', '--no-approval'])

  // Roles and removal. A keeper holds no key: making Bob one changes the key, and the list says so.
  const keeper = await ok(ana, ['member', 'role', 'Bob', 'keeper'])
  assert.match(keeper, /^Bob is now keeper\n(all \d+ teammates have|\d+ of \d+ teammates ha(s|ve)) the new key/)
  assert.match(await ok(ana, ['members']), /^ {2}Bob +keeper +(online|offline) +key: never +\S/m)
  assert.match(await ok(ana, ['member', 'role', 'Bob', 'viewer']), /Bob is now viewer/)
  const members = await ok(ana, ['members'])
  assert.match(members, /^\* Ana +owner +online +key: current /m)
  assert.match(members, /^ {2}Bob +viewer +(online|offline) +key: (current|waiting) /m)
  assert.match(members, /^ {2}Cat +editor +(online|offline) +key: (current|waiting) /m)
  // After the list, one line on who has the key (shared/key-status.ts words it).
  assert.match(
    members.split('\n').at(-1)!,
    /^(all 3 teammates have the (current|new) key|\d of 3 teammates ha(s|ve) the (current|new) key; .+)$/,
  )
  const owner = await exits(2, ana, ['member', 'role', 'Bob', 'owner'])
  assert.match(owner.err, /ownership transfer is not supported/)
  await exits(2, ana, ['member', 'role', 'Bob', 'god'])
  await exits(3, ana, ['member', 'role', 'Nobody', 'editor'])
  await exits(7, bob, ['member', 'remove', 'Cat'])
  await exits(7, bob, ['member', 'role', 'Cat', 'viewer'])
  assert.match((await exits(1, ana, ['member', 'remove', 'Ana'])).err, /owner cannot be removed/)
  assert.match((await exits(1, ana, ['leave'])).err, /owner cannot leave/)
  const removed = await ok(ana, ['member', 'remove', 'Cat'])
  assert.match(removed, /^removed Cat; (\d+ of \d+ teammates ha(s|ve)|all \d+ teammates have) the new key/)
  assert.match(removed, /Cat's device \(\w+\) keeps what it already had/)
  const after = JSON.parse(await ok(ana, ['members', '--json'])) as { name: string; role: string }[]
  assert.deepEqual(after.map((m) => `${m.name}:${m.role}`).sort(), ['Ana:owner', 'Bob:viewer'])
  await exits(3, ana, ['member', 'remove', 'Cat'])
  assert.match(await ok(ana, ['--help']), /member remove <name\|id>[\s\S]*member role <name\|id>[\s\S]*--no-approval/)
})

test('leave from the command line', async () => {
  const [ana, bob] = [tempDir(), tempDir()]
  let a: Awaited<ReturnType<typeof startRun>> | undefined
  try {
    a = await startRun(ana.path, 'Ana')
    await ok(ana.path, ['workspace', 'create', 'Crew'])
    const code = (await ok(ana.path, ['invite', '--no-approval'])).split('\n')[0]!
    await ok(bob.path, ['join', code, '--name', 'Bob'])
    const left = await ok(bob.path, ['leave'])
    assert.match(left, /left "Crew"/)
    assert.match(left, /1 of 1 teammates told now/)
    assert.equal(await ok(bob.path, ['workspace', 'list']), 'no workspaces')
    const members = JSON.parse(await ok(ana.path, ['members', '--json'])) as { name: string }[]
    assert.deepEqual(
      members.map((m) => m.name),
      ['Ana'],
    )
  } finally {
    if (a && a.proc.exitCode === null) {
      const exited = new Promise((r) => a!.proc.once('exit', r))
      a.proc.kill('SIGTERM')
      await exited
    }
    ana.remove()
    bob.remove()
  }
})
