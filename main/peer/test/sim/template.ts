/**
 * The team every trial of the convergence simulation starts from, formed once per run: eight devices
 * in one workspace (joined by invites, each holding the workspace's key and every membership op) with
 * two documents, then stopped. A trial copies the profile folders it needs into its own temp folder.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { DB_FILE, type Peer } from '../../peer.ts'
import { formWorkspace, startPeer, waitFor } from '../helpers.ts'
import { simTempDir } from './temp.ts'

export interface Member {
  name: string
  deviceId: string
  /** The member's profile folder in the template (never run: trials copy it). */
  profile: string
}

export interface Template {
  ws: string
  members: Member[]
  /** Ids of the documents every member holds at the start. */
  docIds: string[]
  remove(): void
}

export const TEMPLATE_SIZE = 8

export async function buildTemplate(): Promise<Template> {
  const root = simTempDir('grapevine-sim-template-')
  const peers: Peer[] = []
  try {
    const names = Array.from({ length: TEMPLATE_SIZE }, (_, i) => `p${i}`)
    const profiles = names.map((n) => join(root.path, n))
    peers.push(...(await Promise.all(names.map((name, i) => startPeer(profiles[i]!, { name })))))
    const ws = await formWorkspace(peers[0]!, peers.slice(1), 'Sim')
    const owner = peers[0]!.connect()
    const docIds: string[] = []
    for (const [title, text] of [
      ['Plan', 'the plan:\n- first\n- second\n'],
      ['Notes', 'notes'],
    ] as const)
      docIds.push((await owner.request('doc.create', { workspaceId: ws, title, text })).id)
    const opCount = (p: Peer): number => {
      const db = new Database(p.dbPath, { readonly: true })
      try {
        return (db.prepare('SELECT count(*) AS n FROM membership_ops').get() as { n: number }).n
      } finally {
        db.close()
      }
    }
    await waitFor(
      'every member to hold every op, the key and both documents',
      async () => {
        const want = opCount(peers[0]!)
        for (const p of peers) {
          await p.settle()
          if (opCount(p) !== want || !p.keys.current(ws)) return false
          const c = p.connect()
          try {
            if ((await c.request('workspace.members', { workspaceId: ws })).length !== TEMPLATE_SIZE) return false
            for (const docId of docIds) await c.request('doc.read', { docId })
          } catch {
            return false
          } finally {
            c.close()
          }
        }
        return true
      },
      30_000,
    )
    const members = peers.map((p, i) => ({ name: names[i]!, deviceId: p.device.deviceId, profile: profiles[i]! }))
    await Promise.all(peers.splice(0).map((p) => p.stop()))
    // Addresses of the template's run are stale in every trial (ports change): a trial's peers learn each
    // other's addresses from their own connections, and never dial a port some other program has since taken.
    for (const m of members) {
      const db = new Database(join(m.profile, DB_FILE))
      try {
        db.exec('DELETE FROM peer_addresses')
      } finally {
        db.close()
      }
    }
    return { ws, members, docIds, remove: () => root.remove() }
  } catch (err) {
    await Promise.allSettled(peers.map((p) => p.stop()))
    root.remove()
    throw err
  }
}
