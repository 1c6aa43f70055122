/** The machine and the software a run measured: CPU, cores, memory, Node and package versions, commit. */
import { cpus, totalmem, loadavg, release } from 'node:os'
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const PACKAGES = [
  '@automerge/automerge',
  '@automerge/automerge-repo',
  '@automerge/automerge-repo-network-websocket',
  '@automerge/automerge-repo-network-messagechannel',
  '@automerge/automerge-repo-storage-nodefs',
  'yjs',
  'y-websocket',
  'ws',
  'better-sqlite3',
  'libp2p',
  '@libp2p/gossipsub',
]

function version(root: string, pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

export function machineInfo(root: string): { lines: string[] } {
  const c = cpus()
  let commit = '?'
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim()
    if (dirty) commit += ' (with uncommitted changes)'
  } catch {
    /* not a git checkout */
  }
  return {
    lines: [
      `- Date: ${new Date().toISOString()}`,
      `- CPU: ${c[0]?.model ?? '?'}, ${c.length} cores; memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Linux ${release()}; load average at start ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
      `- Node ${process.version}; ${PACKAGES.map((p) => `${p} ${version(root, p)}`).join(', ')}`,
      `- Commit ${commit}`,
    ],
  }
}
