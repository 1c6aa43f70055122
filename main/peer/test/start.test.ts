/**
 * The peer's start: the profile is open before the network (`awaitNetwork: false`, the desktop app's
 * peer), local reads are answered from then, and the network starts behind them; its port is the one
 * the profile used last while it is free; a network that cannot start fails what needs it, not the profile.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { DB_FILE } from '../peer.ts'
import { GrapevineError } from '../../../shared/protocol.ts'
import type { LogLevel } from '../log.ts'
import { startPeer, tempDir, waitFor } from './helpers.ts'

const portOf = (addrs: { toString(): string }[]): number => Number(/\/tcp\/(\d+)/.exec(addrs.map(String).join(' '))?.[1] ?? 0)

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server))
  })
}

test('the profile answers before the network listens; the network then starts, and teammates reach it', async () => {
  const dirA = tempDir()
  const dirB = tempDir()
  try {
    // A profile with a document in it, as a second start finds it.
    const first = await startPeer(dirA.path)
    const made = first.connect()
    const ws = await made.request('workspace.create', { name: 'Studio' })
    const doc = await made.request('doc.create', { workspaceId: ws.id, title: 'Plan', text: 'hello' })
    await first.stop()

    const a = await startPeer(dirA.path, { port: undefined, awaitNetwork: false })
    let up = false
    void a.online.then(() => {
      up = true
    })
    const c = a.connect()
    try {
      assert.deepEqual(a.node.getMultiaddrs(), [], 'nothing listens yet')
      const listed = await c.request('doc.list', { workspaceId: ws.id })
      const read = await c.request('doc.read', { docId: doc.id })
      assert.equal(up, false, 'the listing and the text were answered before the network was up')
      assert.deepEqual(
        listed.map((d) => d.title),
        ['Plan'],
      )
      assert.equal(read.text, 'hello')
      // A request that needs the network waits for it, and then runs.
      const invite = await c.request('workspace.invite', { workspaceId: ws.id, approve: false })
      assert.equal(up, true, 'the invite waited for the network')
      assert.ok(a.node.getMultiaddrs().length > 0, 'listening')
      // A teammate joins with that invite and gets the document.
      const b = await startPeer(dirB.path)
      try {
        await b.connect().request('workspace.join', { code: invite.code })
        const got = await waitFor('the document on the teammate', async () => {
          const d = await b
            .connect()
            .request('doc.read', { docId: doc.id })
            .catch(() => null)
          return d?.text === 'hello' ? d : null
        })
        assert.equal(got.title, 'Plan')
      } finally {
        await b.stop()
      }
    } finally {
      await a.stop()
    }
  } finally {
    dirA.remove()
    dirB.remove()
  }
})

test('the port the profile used last while it is free; another one, said, when it is taken', async () => {
  const dir = tempDir()
  const logged: string[] = []
  const log = (level: LogLevel, message: string): void => void logged.push(`${level} ${message}`)
  let blocker: Server | undefined
  try {
    const first = await startPeer(dir.path)
    const used = portOf(first.node.getMultiaddrs())
    assert.ok(used > 0)
    await first.stop()
    // `port: undefined`: the profile's own choice, as the app starts it.
    const again = await startPeer(dir.path, { port: undefined, log })
    assert.equal(portOf(again.node.getMultiaddrs()), used, 'the same port again')
    await again.stop()
    blocker = await occupy(used)
    const moved = await startPeer(dir.path, { port: undefined, log })
    const now = portOf(moved.node.getMultiaddrs())
    await moved.stop()
    assert.ok(now > 0 && now !== used, `a new port (${now}) while ${used} is taken`)
    assert.ok(
      logged.some((l) => l.startsWith('warn') && l.includes(`port ${used} is taken`)),
      'said so in the log',
    )
  } finally {
    await new Promise((r) => (blocker ? blocker.close(r) : r(undefined)))
    dir.remove()
  }
})

test('a network that cannot start: the profile still reads, what needs the network is refused, and the profile is released', async () => {
  const dir = tempDir()
  const blocker = await occupy(0)
  const taken = (blocker.address() as { port: number }).port
  try {
    const first = await startPeer(dir.path)
    const c0 = first.connect()
    const ws = await c0.request('workspace.create', { name: 'Studio' })
    await first.stop()

    // The app's way: ready at once; the failure comes through `online`.
    const p = await startPeer(dir.path, { port: taken, awaitNetwork: false })
    const c = p.connect()
    await assert.rejects(p.online, /EADDRINUSE|address already in use|could not listen/i)
    assert.deepEqual(
      (await c.request('workspace.list', {})).map((w) => w.id),
      [ws.id],
    )
    await assert.rejects(c.request('workspace.invite', { workspaceId: ws.id, approve: false }), (err: unknown) => {
      assert.ok(err instanceof GrapevineError && err.code === 'unreachable', String(err))
      assert.match(err.message, /network could not start/)
      return true
    })
    await p.stop()

    // The default: createPeer itself fails, and releases the profile (a start after it works).
    await assert.rejects(startPeer(dir.path, { port: taken }))
    const after = await startPeer(dir.path)
    assert.equal((await after.connect().request('workspace.list', {})).length, 1)
    await after.stop()
  } finally {
    await new Promise((r) => blocker.close(r))
    dir.remove()
  }
})

test('a listing left behind the change log (a stop that was not clean) is repaired at start; a clean stop leaves none', async () => {
  const dir = tempDir()
  const logged: string[] = []
  const log = (level: LogLevel, message: string): void => void logged.push(`${level} ${message}`)
  try {
    const first = await startPeer(dir.path)
    const c = first.connect()
    const ws = await c.request('workspace.create', { name: 'Studio' })
    const doc = await c.request('doc.create', { workspaceId: ws.id, title: 'Before', text: 'x' })
    await c.request('doc.rename', { docId: doc.id, title: 'After' })
    await first.stop()
    const clean = await startPeer(dir.path, { log })
    assert.deepEqual(
      (await clean.connect().request('doc.list', { workspaceId: ws.id })).map((d) => d.title),
      ['After'],
    )
    await clean.stop()
    assert.ok(!logged.some((l) => l.includes('repaired')), 'nothing to repair after a clean stop')
    // As a crash between the rename's commit and its listing row would leave it (and without a clean-stop record).
    const raw = new Database(join(dir.path, DB_FILE))
    raw.prepare("UPDATE documents SET title = 'Before', change_count = 1 WHERE id = ?").run(doc.id)
    raw.close()
    const after = await startPeer(dir.path, { log })
    try {
      assert.deepEqual(
        (await after.connect().request('doc.list', { workspaceId: ws.id })).map((d) => d.title),
        ['After'],
      )
      assert.ok(
        logged.some((l) => l.includes('repaired the listing of 1 documents')),
        logged.join('\n'),
      )
      assert.ok(
        logged.some((l) => l.includes('the profile was checked for damage')),
        'the file changed since the clean stop: checked',
      )
    } finally {
      await after.stop()
    }
  } finally {
    dir.remove()
  }
})
