/** Test helpers: peers on 127.0.0.1 with profiles in temp folders, and bounded waiting. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer, type Peer, type PeerConfig } from '../peer.ts'
import { consoleLog, silentLog } from '../log.ts'

export function tempDir(prefix = 'grapevine-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** Runs `fn` with a temp folder that is removed afterwards. */
export async function inTemp(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = tempDir()
  try {
    await fn(dir.path)
  } finally {
    dir.remove()
  }
}

export const testLog = process.env['GRAPEVINE_TEST_LOG'] ? consoleLog('debug') : silentLog

/** A peer on 127.0.0.1 (never all interfaces), mDNS off. */
export function startPeer(profileDir: string, extra: Partial<PeerConfig> = {}): Promise<Peer> {
  return createPeer({ profileDir, host: '127.0.0.1', port: 0, mdns: false, log: testLog, catchupIntervalMs: 3_000, ...extra })
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v) return v as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Forms a workspace on `owner` and has every other peer join it with its own invite. */
export async function formWorkspace(owner: Peer, others: Peer[], name = 'Team'): Promise<string> {
  const o = owner.connect()
  const ws = await o.request('workspace.create', { name })
  for (const p of others) {
    const invite = await o.request('workspace.invite', { workspaceId: ws.id, approve: false })
    await p.connect().request('workspace.join', { code: invite.code })
  }
  return ws.id
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
