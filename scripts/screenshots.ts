/**
 * `npm run screenshots`: runs the browser end-to-end tests with their screenshots going to
 * docs/screenshots/ (the README's pictures). `npm test` writes them to a temp folder instead, so a
 * test run never changes tracked files. Look at the pictures before committing them.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { README_SCREENSHOTS } from '../e2e/harness.ts'
import { ROOT } from './build-electron.ts'

const tests = ['two-people.e2e.test.ts', 'teammates.e2e.test.ts', 'board.e2e.test.ts'].map((f) => join(ROOT, 'e2e', f))
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...tests], {
  stdio: 'inherit',
  cwd: ROOT,
  env: { ...process.env, GRAPEVINE_SCREENSHOTS: README_SCREENSHOTS },
})
if (run.status === 0) console.log(`\nScreenshots written to ${README_SCREENSHOTS}`)
process.exit(run.status ?? 1)
