/**
 * One running peer per profile directory. The lock file holds the owner's pid; a lock whose
 * process is gone (a crash, kill -9) is stale and taken over.
 */
import { chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StoreError } from './errors.ts'

export const LOCK_FILE = 'peer.lock'

/** The profile folder is this OS user's only; so is every file the peer keeps in it. */
const PRIVATE_DIR_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600

/**
 * Creates the profile folder private (0700), or makes an existing one so, and takes group and
 * other bits off everything in it (a profile made by an older version, or under a loose umask):
 * the database holds what teammates wrote and, for the CLI, the device's private key.
 * On Windows file modes mean nothing: the profile lives in the user's own profile folder
 * (%APPDATA%), whose ACLs already keep other users out, so nothing is changed there.
 */
export function prepareProfileDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  if (process.platform === 'win32') return
  try {
    // The folder itself may be a link a person made to put the profile elsewhere: its target counts.
    const st = statSync(dir)
    if ((st.mode & 0o077) !== 0) chmodSync(dir, st.mode & PRIVATE_DIR_MODE)
    for (const name of readdirSync(dir)) tighten(join(dir, name))
  } catch (err) {
    throw new StoreError('unreadable', dir, `Cannot make the profile ${dir} private to this user: ${(err as Error).message}`, err)
  }
}

/** Takes the bits beyond `max` off one path (files 0600, folders 0700); never follows a link. */
export function tighten(path: string, max?: number): void {
  if (process.platform === 'win32') return // the user's profile ACLs protect it (see prepareProfileDir)
  let st: ReturnType<typeof lstatSync>
  try {
    st = lstatSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return // gone meanwhile (a stale lock, a closed WAL)
    throw err
  }
  // chmod on a symbolic link would change its target, which need not be ours to change.
  if (st.isSymbolicLink()) return
  const limit = max ?? (st.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE)
  if ((st.mode & 0o777 & ~limit) !== 0) chmodSync(path, st.mode & limit)
}

export interface ProfileLock {
  release(): void
}

/** Whether a process with this PID runs (one of another user's counts: EPERM). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function lockProfile(dir: string): ProfileLock {
  const path = join(dir, LOCK_FILE)
  // The lock appears complete or not at all: written to a private file, then hard-linked into place.
  const tmp = join(dir, `${LOCK_FILE}.${process.pid}.${Date.now()}`)
  writeFileSync(tmp, JSON.stringify({ pid: process.pid, startedAt: Date.now() }), { mode: PRIVATE_FILE_MODE })
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, path)
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
        const owner = readOwner(path)
        const unreadableButOld = owner === null && Date.now() - mtimeOf(path) > 10_000
        if ((owner === null && !unreadableButOld) || (owner !== null && alive(owner))) {
          throw new StoreError(
            'locked',
            path,
            `Profile ${dir} is in use by another Grapevine peer (pid ${owner ?? 'unknown'}). Stop it, or talk to it with the CLI.`,
          )
        }
        // Stale (its process is gone). Move it aside under a unique name: of two processes taking
        // over at once, only one rename succeeds on this file.
        try {
          renameSync(path, `${path}.stale.${process.pid}.${attempt}`)
          rmSync(`${path}.stale.${process.pid}.${attempt}`, { force: true })
        } catch {
          // someone else moved it first; try again
        }
      }
    }
  } finally {
    rmSync(tmp, { force: true })
  }
  throw new StoreError('locked', path, `Could not take the lock ${path}`)
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return 0
  }
}

/** The pid in a lock file; null when it cannot be read (held, unless it is old: then stale). */
function readOwner(path: string): number | null {
  try {
    return Number(JSON.parse(readFileSync(path, 'utf8')).pid) || null
  } catch {
    return null
  }
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
