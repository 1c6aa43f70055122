import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tallyLog, type LogLevel } from './log.ts'

test('a flood of refusals becomes one line per kind and source plus summaries, with bounded memory', () => {
  const lines: string[] = []
  const tally = tallyLog((_level: LogLevel, m: string) => lines.push(m), 'gossip rejected', { intervalMs: 60_000, maxKeys: 10 })
  for (let i = 0; i < 10_000; i++) tally.note(i % 2 ? 'malformed' : 'not-member', `peer${i % 50}`, `junk #${i}`)
  // 50 sources × 1 kind each, but only 10 pairs are tracked: 10 first lines, everything else counted.
  assert.equal(lines.length, 10)
  assert.match(lines[0]!, /^gossip rejected \(not-member\) from peer0: junk #0$/)
  tally.flush()
  assert.equal(lines.length, 11)
  assert.match(lines[10]!, /besides those logged: .*× not-member from \d+ sources.*, \d+ more from sources not tracked \(most: /)
  tally.flush()
  assert.equal(lines.length, 11, 'nothing new: no summary line')
  tally.note('malformed', 'peer1', 'again')
  assert.equal(lines.length, 12, 'after a summary, the next refusal of a pair is logged again with its detail')
  tally.stop()
})
