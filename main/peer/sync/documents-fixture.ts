/**
 * For tests: `Documents` over a real SQLite file in `dir`, with this device's workspaces and keys and
 * no network. `docs()` makes a new `Documents` on the same store (as after a restart).
 */
import { join } from 'node:path'
import { SqliteStore } from '../store/sqlite-store.ts'
import { loadOrCreateDevice } from '../identity/device.ts'
import { Workspaces } from '../workspace/workspaces.ts'
import { EpochKeys } from '../workspace/epoch-keys.ts'
import { silentLog } from '../log.ts'
import { Documents, type DocumentsOptions } from './documents.ts'

export async function documentsFixture(dir: string, opts: Partial<DocumentsOptions> = {}) {
  const store = new SqliteStore(join(dir, 'g.db'))
  const device = await loadOrCreateDevice(store)
  const workspaces = new Workspaces({ store, device })
  const keys = new EpochKeys({ device, workspaces, log: silentLog })
  const docs = () =>
    new Documents({ store, device, workspaces, keys }, { batchMs: 5, snapshotEvery: 100, maxLoaded: 8, log: silentLog, ...opts })
  return { store, device, workspaces, keys, docs }
}
