/**
 * One running peer per profile directory. The lock file holds the owner's pid; a lock whose
 * process is gone (a crash, kill -9) is stale and taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { StoreError } from './errors.ts'

export const LOCK_FILE = 'peer.lock'

export interface ProfileLock { release(): void }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function lockProfile(dir: string): ProfileLock {
  const path = join(dir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, JSON.stringify({ pid: process.pid, startedAt: Date.now() }))
      closeSync(fd)
      let released = false
      return {
        release() {
          if (released) return
          released = true
          rmSync(path, { force: true })
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let owner = 0
      try {
        owner = Number(JSON.parse(readFileSync(path, 'utf8')).pid) || 0
      } catch {
        owner = 0 // half-written by a process that died while taking the lock
      }
      if (owner !== 0 && alive(owner)) {
        throw new StoreError('locked', path,
          `Profile ${dir} is in use by another Grapevine peer (pid ${owner}). Stop it, or talk to it with the CLI.`)
      }
      rmSync(path, { force: true })
    }
  }
  throw new StoreError('locked', path, `Could not take the lock ${path}`)
}

/** The pid of the peer holding the profile, if one is running. */
export function profileOwner(dir: string): number | null {
  try {
    const pid = Number(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid)
    return pid && alive(pid) ? pid : null
  } catch {
    return null
  }
}
