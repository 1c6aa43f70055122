/**
 * Every way this repository starts a peer passes the peer's Node flags. The desktop app's fork is checked
 * in main/boot.test.ts, the benchmarks and e2e import the constant; here, the npm scripts, which cannot.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { PEER_NODE_FLAGS } from './peer-runtime.ts'

const ROOT = join(import.meta.dirname, '..')

test('npm run peer and npm run ui start the peer with its Node flags', () => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  for (const name of ['peer', 'ui']) {
    const cmd = scripts[name]!
    const at = cmd.indexOf('main/peer/cli/bin.ts')
    assert.ok(at > 0, `${name} runs the peer's CLI`)
    assert.ok(
      cmd
        .slice(0, at)
        .trimEnd()
        .endsWith(`node ${PEER_NODE_FLAGS.join(' ')}`),
      `${name}: "${cmd}" starts node with ${PEER_NODE_FLAGS.join(' ')}`,
    )
  }
})

test('the flags are ones this Node takes, and they cap the young generation', () => {
  // A flag Node does not know stops it at start; and the cap must hold under a stream of allocations.
  const out = execFileSync(
    process.execPath,
    [
      ...PEER_NODE_FLAGS,
      '-e',
      `const v8 = require('node:v8'); let keep = [], max = 0
       for (let r = 0; r < 300; r++) { for (let i = 0; i < 20000; i++) keep.push({ i, a: [i] }); if (keep.length > 200000) keep = []
         max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size) }
       console.log(max)`,
    ],
    { encoding: 'utf8' },
  )
  const newSpaceMiB = Number(out.trim()) / 2 ** 20
  assert.ok(newSpaceMiB > 0 && newSpaceMiB <= 16.5, `new space grew to ${newSpaceMiB.toFixed(1)} MiB`)
})
