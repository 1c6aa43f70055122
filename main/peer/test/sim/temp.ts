/**
 * Temp folders for the simulation's profiles: in /dev/shm where there is one (tmpfs), else the OS's
 * temp folder. On tmpfs a commit's fsync costs nothing, and hundreds of trials are mostly commits;
 * nothing the simulation claims depends on the disk (a kill -9 ends the process, not the machine: what
 * the peer committed is in the OS's hands either way).
 */
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function base(): string {
  try {
    if (statSync('/dev/shm').isDirectory()) {
      accessSync('/dev/shm', constants.W_OK)
      return '/dev/shm'
    }
  } catch {
    // no tmpfs here
  }
  return tmpdir()
}

export function simTempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(base(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}
