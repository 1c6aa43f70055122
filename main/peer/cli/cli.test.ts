/**
 * The headless CLI as a person uses it: separate OS processes, an always-on peer (`run`) and
 * one-shot commands, both against the running peer (control socket) and on a free profile.
 * Every peer listens on 127.0.0.1 with mDNS off.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir, waitFor } from '../test/helpers.ts'

const BIN = fileURLToPath(new URL('./bin.ts', import.meta.url))
const LOCAL = ['--host', '127.0.0.1', '--no-mdns']
const dirs = { a: tempDir(), b: tempDir(), c: tempDir(), files: tempDir() }
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
  const code = (await ok(dirs.a.path, ['invite', '--ttl', '1h'])).split('\n')[0]!
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
  await ok(dirs.a.path, ['doc', 'delete', 'Roadmap'])
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
