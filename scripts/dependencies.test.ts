/**
 * What ships in the installer: electron-builder copies the production `dependencies` from
 * node_modules beside the bundles, so a library the bundles already contain would ship twice.
 * Production dependencies are exactly what the bundles leave to node_modules; everything bundled
 * (React, CodeMirror, libp2p, zod, ws …) is a devDependency. No source reaches into a package's dist/.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { NODE_EXTERNALS, ROOT } from './build-electron.ts'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

test('production dependencies are exactly the packages the bundles leave to node_modules', () => {
  // electron is the runtime itself; bufferutil and utf-8-validate are ws's optional helpers, never installed.
  const external = NODE_EXTERNALS.filter((m) => !m.endsWith('/*') && !['electron', 'bufferutil', 'utf-8-validate'].includes(m))
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), [...external].sort())
})

test('packages nothing imports are not dependencies', () => {
  for (const name of ['codemirror', 'y-protocols']) {
    assert.ok(!(name in pkg.dependencies) && !(name in pkg.devDependencies), `${name} is listed but never imported`)
  }
})

test("no source imports a file from inside a package's dist/", () => {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.tsx'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean)
  const deep: string[] = []
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    for (const m of text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)'((?:@[\w.-]+\/)?[\w.-]+\/dist\/[^']*)'/g))
      deep.push(`${file}: ${m[1]}`)
  }
  assert.deepEqual(deep, [], 'use the package entry points (its "exports"), not its build output')
})
