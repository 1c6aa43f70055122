import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { SqliteStore } from '../store/sqlite-store.ts'
import { silentLog } from '../log.ts'
import { inTemp } from '../test/helpers.ts'
import { DocKinds } from './doc-kinds.ts'

test('kinds: noted across a restart, and read for a whole listing with one query', () =>
  inTemp(async (dir) => {
    const path = join(dir, 'k.db')
    const first = new SqliteStore(path)
    const kinds = new DocKinds(first, silentLog)
    kinds.note('board-1', 'board')
    kinds.note('board-2', 'board')
    kinds.note('board-2', 'text') // a board that became text (its replica wrote it so)
    kinds.note('text-1', 'text') // text is the default: nothing to write
    await first.write(() => {})
    assert.deepEqual(
      first.metaWithPrefix('doc-kind:').map(([k, v]) => `${k}=${v}`),
      ['doc-kind:board-1=board', 'doc-kind:board-2=text'],
    )
    first.close()

    const store = new SqliteStore(path)
    try {
      let queries = 0
      const counted = new Proxy(store, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver)
          if (prop === 'getMeta' || prop === 'metaWithPrefix') {
            return (...args: unknown[]) => {
              queries++
              return (v as (...a: unknown[]) => unknown).apply(target, args)
            }
          }
          return typeof v === 'function' ? v.bind(target) : v
        },
      })
      const again = new DocKinds(counted, silentLog)
      const asked = ['board-1', 'board-2', 'text-1', ...Array.from({ length: 1000 }, (_, i) => `doc-${i}`)]
      const got = asked.map((id) => again.kindOf(id))
      assert.deepEqual(got.slice(0, 3), ['board', 'text', 'text'])
      assert.ok(got.slice(3).every((k) => k === 'text'))
      assert.equal(queries, 1, 'one query for the kinds of 1,003 documents')
    } finally {
      store.close()
    }
  }))
