import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startPeer, inTemp } from '../test/helpers.ts'
import { StoreError } from './errors.ts'
import { LOCK_FILE, lockProfile, profileOwner } from './profile-lock.ts'

const LOCK_MODULE = pathToFileURL(fileURLToPath(new URL('./profile-lock.ts', import.meta.url))).href

function isLocked(err: unknown, pid: number): boolean {
  return err instanceof StoreError && err.kind === 'locked' && err.message.includes(`pid ${pid}`)
}

/** Resolves once `child` prints `marker` on stdout; rejects if it exits first or takes over 20 s. */
async function waitForOutput(child: ChildProcess, marker: string): Promise<void> {
  let out = ''
  let err = ''
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not print ${marker} in 20 s: ${out} ${err}`)), 20_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes(marker)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`child exited (${code}) before ${marker}: ${err}`))
    })
  })
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  process.kill(child.pid!, 'SIGKILL')
  await exited
}

test('the same profile cannot be locked twice; after release it can', () =>
  inTemp((dir) => {
    const lock = lockProfile(dir)
    try {
      const owner = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number }
      assert.equal(owner.pid, process.pid)
      assert.equal(profileOwner(dir), process.pid)
      assert.throws(
        () => lockProfile(dir),
        (err: unknown) => isLocked(err, process.pid),
      )
    } finally {
      lock.release()
    }
    assert.equal(existsSync(join(dir, LOCK_FILE)), false)
    assert.equal(profileOwner(dir), null)
    lock.release() // twice is harmless
    const again = lockProfile(dir)
    assert.throws(
      () => lockProfile(dir),
      (err: unknown) => isLocked(err, process.pid),
    )
    again.release()
  }))

test('a second release does not remove a lock someone else took meanwhile', () =>
  inTemp((dir) => {
    const first = lockProfile(dir)
    first.release()
    const second = lockProfile(dir)
    try {
      first.release()
      assert.equal(profileOwner(dir), process.pid)
      assert.throws(
        () => lockProfile(dir),
        (err: unknown) => isLocked(err, process.pid),
      )
    } finally {
      second.release()
    }
  }))

test('a stale lock left by a process that has exited is taken over', () =>
  inTemp(async (dir) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
    const [code] = (await once(child, 'exit')) as [number | null]
    assert.equal(code, 0)
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: child.pid, startedAt: Date.now() - 60_000 }))
    assert.equal(profileOwner(dir), null)
    const lock = lockProfile(dir)
    try {
      assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid)
    } finally {
      lock.release()
    }
  }))

test('an unreadable lock file is held while fresh, and taken over once old', () =>
  inTemp((dir) => {
    const path = join(dir, LOCK_FILE)
    writeFileSync(path, '{"pi')
    assert.throws(
      () => lockProfile(dir),
      (err: unknown) => err instanceof StoreError && err.kind === 'locked',
    )
    const old = new Date(Date.now() - 60_000)
    utimesSync(path, old, old)
    const lock = lockProfile(dir)
    lock.release()
  }))

test('a lock held by another live process refuses this one until that process dies', () =>
  inTemp(async (dir) => {
    const script = `
    import { lockProfile } from ${JSON.stringify(LOCK_MODULE)}
    lockProfile(${JSON.stringify(dir)})
    process.stdout.write('locked\\n')
    setInterval(() => {}, 1000)
  `
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      await waitForOutput(child, 'locked')
      assert.equal(profileOwner(dir), child.pid)
      assert.throws(
        () => lockProfile(dir),
        (err: unknown) => {
          assert.ok(isLocked(err, child.pid!), `locked by pid ${child.pid}: ${String(err)}`)
          assert.ok((err as StoreError).message.includes(dir))
          return true
        },
      )
    } finally {
      await killAndWait(child)
    }
    // Killed without releasing (like a crash): its lock is now stale and taken over.
    const lock = lockProfile(dir)
    lock.release()
  }))

test('createPeer on a profile another running peer holds rejects with a locked error', { timeout: 60_000 }, () =>
  inTemp(async (dir) => {
    const first = await startPeer(dir)
    try {
      await assert.rejects(startPeer(dir), (err: unknown) => {
        assert.ok(err instanceof StoreError, String(err))
        assert.equal(err.kind, 'locked')
        assert.match(err.message, /in use by another Grapevine peer/)
        assert.ok(err.message.includes(`pid ${process.pid}`))
        return true
      })
      // The failed attempt left the running peer's lock alone.
      assert.equal(profileOwner(dir), process.pid)
      assert.deepEqual(await first.connect().request('workspace.list', {}), [], 'the running peer still answers')
    } finally {
      await first.stop()
    }
    const second = await startPeer(dir)
    await second.stop()
  }),
)
