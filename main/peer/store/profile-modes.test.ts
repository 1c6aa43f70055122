/**
 * A profile is this OS user's only: the folder 0700, every file the peer keeps in it 0600, for a new
 * profile and for one an older version (or a loose umask) left readable by others. Real peer, real files.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { serveControlSocket } from '../api/socket-transport.ts'
import { saveUiSettings } from '../api/ui-server.ts'
import { DB_FILE } from '../peer.ts'
import { inTemp, startPeer, testLog } from '../test/helpers.ts'
import { LOCK_FILE } from './profile-lock.ts'

const unix = {
  skip: process.platform === 'win32' ? 'file modes mean nothing on Windows (the profile ACLs protect it)' : false,
  timeout: 60_000,
}
const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8)

/** Every entry of the profile with its mode, while a peer (CLI `run --ui` style) is using it. */
async function modesWhileRunning(dir: string): Promise<Record<string, string>> {
  const peer = await startPeer(dir)
  const socket = await serveControlSocket(peer, dir, testLog)
  try {
    saveUiSettings(dir, { token: 'x'.repeat(32), port: 1234 })
    await peer.connect().request('workspace.create', { name: 'Studio' }) // something in the WAL
    const modes: Record<string, string> = { '.': modeOf(dir) }
    for (const name of readdirSync(dir)) modes[name] = modeOf(join(dir, name))
    return modes
  } finally {
    await new Promise((r) => socket.close(r))
    await peer.stop()
  }
}

test('a new profile is private: folder 0700; database, -wal, -shm, lock, control socket and ui.json 0600', unix, () =>
  inTemp(async (tmp) => {
    const dir = join(tmp, 'nested', 'profile')
    const modes = await modesWhileRunning(dir)
    assert.deepEqual(modes, {
      '.': '700',
      [DB_FILE]: '600',
      [`${DB_FILE}-wal`]: '600',
      [`${DB_FILE}-shm`]: '600',
      [LOCK_FILE]: '600',
      'peer.sock': '600',
      'ui.json': '600',
    })
    assert.equal(modeOf(join(tmp, 'nested')), '700', 'a folder made for it is private too')
  }),
)

test('an existing looser profile is made private when it is opened', unix, () =>
  inTemp(async (tmp) => {
    const dir = join(tmp, 'profile')
    await (await startPeer(dir)).stop()
    const db = join(dir, DB_FILE)
    // As an older version left it: 0755 folder, 0644 files, a WAL and shm in place (here held by a
    // second connection, as a crash leaves them), the UI's token file readable by all.
    const other = new Database(db)
    try {
      other.pragma('wal_autocheckpoint = 0')
      other.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('old', Buffer.from('x'))
      writeFileSync(join(dir, 'ui.json'), JSON.stringify({ token: 'y'.repeat(32), port: 1 }), { mode: 0o644 })
      writeFileSync(join(dir, 'notes.txt'), 'something a person left here')
      mkdirSync(join(dir, 'backup'))
      for (const f of [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, 'ui.json', 'notes.txt']) chmodSync(join(dir, f), 0o644)
      chmodSync(join(dir, 'backup'), 0o755)
      chmodSync(dir, 0o755)
      assert.ok(existsSync(`${db}-wal`) && existsSync(`${db}-shm`))
      const modes = await modesWhileRunning(dir)
      assert.deepEqual(modes, {
        '.': '700',
        [DB_FILE]: '600',
        [`${DB_FILE}-wal`]: '600',
        [`${DB_FILE}-shm`]: '600',
        [LOCK_FILE]: '600',
        'peer.sock': '600',
        'ui.json': '600',
        'notes.txt': '600',
        backup: '700',
      })
    } finally {
      other.close()
    }
  }),
)

test('a profile folder reached through a link a person made is made private at its target', unix, () =>
  inTemp(async (tmp) => {
    const target = join(tmp, 'elsewhere')
    mkdirSync(target, { mode: 0o755 })
    chmodSync(target, 0o755)
    symlinkSync(target, join(tmp, 'profile'))
    await (await startPeer(join(tmp, 'profile'))).stop()
    assert.equal(modeOf(target), '700')
    assert.equal(modeOf(join(target, DB_FILE)), '600')
  }),
)
