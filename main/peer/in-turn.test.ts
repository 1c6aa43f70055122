import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InTurn } from './in-turn.ts'

test('jobs under one key run one at a time in the order given; a failure does not hold up the next; keys are independent', async () => {
  const turns = new InTurn()
  const log: string[] = []
  let open = (): void => {}
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const a = turns.run('k', async () => {
    log.push('a start')
    await gate
    log.push('a end')
    return 1
  })
  const b = turns.run('k', () => {
    log.push('b')
    throw new Error('b fails')
  })
  const c = turns.run('k', () => {
    log.push('c')
    return 3
  })
  const other = turns.run('other', () => {
    log.push('other')
    return 'o'
  })
  assert.equal(await other, 'o')
  assert.equal(turns.busy('k'), true)
  const idle = turns.idle('k').then(() => log.push('idle'))
  await new Promise((r) => setTimeout(r, 20))
  assert.deepEqual(log, ['a start', 'other'], 'b and c wait for a; the other key does not')
  open()
  assert.equal(await a, 1)
  await assert.rejects(b, /b fails/)
  assert.equal(await c, 3)
  await idle
  assert.deepEqual(log, ['a start', 'other', 'a end', 'b', 'c', 'idle'])
  assert.equal(turns.busy('k'), false)
  let late = false
  turns.run('x', () => new Promise<void>((r) => setTimeout(r, 30))).then(() => (late = true))
  await turns.allIdle()
  assert.equal(late, true, 'allIdle waits for every key')
})
