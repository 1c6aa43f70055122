/**
 * mDNS finds teammates on the LAN and the peer dials them. mDNS multicasts on the real network
 * interface, so this runs only inside a private network namespace (`unshare -n`, loopback up with
 * multicast), which needs root; elsewhere it is skipped with the reason printed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const PROBE = fileURLToPath(new URL('../test/mdns-probe.ts', import.meta.url))
const NAMESPACE = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo'

function namespaceProblem(): string | null {
  if (process.platform !== 'linux') return 'private network namespaces are Linux-only'
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', NAMESPACE], { encoding: 'utf8' })
  if (probe.error) return `unshare is not available (${probe.error.message})`
  if (probe.status !== 0)
    return `cannot make a private network namespace here (${probe.stderr.trim() || `exit ${probe.status}`}); run as root to include this test`
  return null
}

const problem = namespaceProblem()
if (problem) console.log(`mDNS test skipped: ${problem}`)

test('peers that share a workspace find each other with mDNS, connect and sync', { skip: problem ?? false }, () => {
  const run = spawnSync('unshare', ['-n', 'sh', '-c', `${NAMESPACE} && exec "$GV_NODE" "$GV_PROBE"`], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, GV_NODE: process.execPath, GV_PROBE: PROBE },
  })
  assert.equal(run.status, 0, run.stderr)
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { connectMs?: number; synced?: boolean; error?: string }
  assert.equal(result.error, undefined)
  assert.equal(result.synced, true)
  console.log(`mDNS: found and connected in ${result.connectMs} ms`)
})
