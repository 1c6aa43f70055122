/**
 * The folder boundaries the READMEs state are enforced by `npm run lint` (biome.json). This test
 * proves the rules bite: it lays out probe files that cross each boundary (and some that must stay
 * allowed) in a temp folder shaped like the repository and lints them with the project's own config.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ROOT } from './build-electron.ts'

interface Probe {
  file: string
  source: string
  banned: boolean
}

const probes: Probe[] = [
  { file: 'main/peer/sync/p1.ts', source: "import { app } from 'electron'", banned: true },
  { file: 'main/peer/api/p2.ts', source: "import type { Peer } from '../peer.ts'", banned: true },
  { file: 'main/peer/api/p3.ts', source: "import type { Log } from '../log.ts'", banned: false },
  { file: 'main/p4.ts', source: "import { createPeer } from './peer/peer.ts'", banned: true },
  { file: 'main/p5.ts', source: "import { app } from 'electron'", banned: false },
  { file: 'renderer/src/p6.ts', source: "import { readFileSync } from 'node:fs'", banned: true },
  { file: 'renderer/src/p7.ts', source: "import { readFileSync } from 'fs'", banned: true },
  { file: 'renderer/src/ui/p8.ts', source: "import { createPeer } from '../../../main/peer/peer.ts'", banned: true },
  { file: 'renderer/src/p9.ts', source: "import { ipcRenderer } from 'electron'", banned: true },
  { file: 'renderer/src/p10.ts', source: "import { createRpcClient } from '../../shared/rpc.ts'", banned: false },
  { file: 'renderer/src/p11.test.ts', source: "import { readFileSync } from 'node:fs'", banned: false },
  { file: 'shared/p12.ts', source: "import { createHash } from 'node:crypto'", banned: true },
  { file: 'shared/p13.ts', source: "import { app } from 'electron'", banned: true },
  { file: 'shared/p14.ts', source: "import { x } from '../main/peer/peer.ts'", banned: true },
  { file: 'shared/p15.ts', source: "import { x } from '../renderer/src/main.tsx'", banned: true },
  { file: 'shared/p16.ts', source: "import { z } from 'zod'", banned: false },
  { file: 'preload/p17.ts', source: "import { readFileSync } from 'node:fs'", banned: true },
]

test('lint rules refuse imports across the folder boundaries, and only those', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gv-boundaries-'))
  try {
    const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as Record<string, unknown>
    delete config['vcs'] // the temp folder is no git checkout
    delete config['$schema']
    writeFileSync(join(dir, 'biome.json'), JSON.stringify(config))
    for (const p of probes) {
      mkdirSync(dirname(join(dir, p.file)), { recursive: true })
      // The imported name is used, so that only the import itself can be what the linter objects to.
      writeFileSync(
        join(dir, p.file),
        `${p.source.replace('import type', 'import')}\nexport const used = [${/\{ (\w+) \}/.exec(p.source)![1]}]\n`,
      )
    }
    const biome = join(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome')
    const run = spawnSync(process.execPath, [biome, 'lint', '--reporter=json', '--max-diagnostics=none', '.'], {
      cwd: dir,
      encoding: 'utf8',
    })
    const report = JSON.parse(run.stdout) as { diagnostics: { category: string; location: { path: string } }[] }
    const flagged = new Set(
      report.diagnostics
        .filter((d) => d.category === 'lint/style/noRestrictedImports' || d.category === 'lint/correctness/noNodejsModules')
        .map((d) => d.location.path.replaceAll('\\', '/')),
    )
    for (const p of probes)
      assert.equal(flagged.has(p.file), p.banned, `${p.file}: ${p.source} should be ${p.banned ? 'refused' : 'allowed'}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
