/**
 * What judging a change by the membership state it names costs on the keystroke path: 1,000
 * keystroke-sized changes validated as before (the author's current role, the v1 signature) and as
 * now (the state at `m`, the v2 signature), with the membership judgement alone measured too. Times
 * are printed, not asserted (they depend on the machine); the test checks every change passes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import * as A from '@automerge/automerge'
import { WRITER_ROLES } from '../../../shared/types.ts'
import { MAX_CHANGE_BYTES } from '../../../shared/limits.ts'
import { SqliteStore } from '../store/sqlite-store.ts'
import { loadOrCreateDevice, newActorId, type Device } from '../identity/device.ts'
import { actorBelongsTo, sha256, verifyPayload } from '../identity/keys.ts'
import { Workspaces } from '../workspace/workspaces.ts'
import { isRejection, signChange, validateChange } from '../sync/change-validation.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import { median, tempDir } from './helpers.ts'

const CHANGES = 1000
const ROUNDS = 7

/** The rule before membership heads: size, the author's current role, the v1 signature, decode, actor. */
function validateByCurrentRole(ws: string, doc: string, item: SignedChange, role: string | undefined): boolean {
  if (item.c.byteLength > MAX_CHANGE_BYTES) return false
  if (role === undefined || !WRITER_ROLES.includes(role as never)) return false
  const payload = Buffer.concat([Buffer.from(`grapevine/change/1\n${ws}\n${doc}\n`), sha256(item.c)])
  if (!verifyPayload(item.a, payload, item.s)) return false
  return actorBelongsTo(A.decodeChange(item.c).actor, item.a)
}

/** Per-item cost of each of `runs` over its items, in µs: the median of rounds that take turns (load drifts alike). */
function perItem(runs: { items: number; run: () => void }[]): number[] {
  const samples: number[][] = runs.map(() => [])
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, { items, run }] of runs.entries()) {
      const t0 = performance.now()
      run()
      samples[k]!.push(((performance.now() - t0) * 1000) / items)
    }
  }
  return samples.map(median)
}

test('validating 1,000 keystroke-sized changes: by current role (before) and by the state at m (now), printed', async () => {
  const dir = tempDir()
  const stores = ['owner', 'editor', 'other'].map((n) => new SqliteStore(join(dir.path, `${n}.db`)))
  try {
    const [owner, editor, other] = (await Promise.all(stores.map((s) => loadOrCreateDevice(s)))) as [Device, Device, Device]
    const workspaces = new Workspaces({ store: stores[0]!, device: owner })
    const ws = await workspaces.create('Bench', 'Owner')
    // A history with revocations, the editor's among them: its write right is checked against each.
    await workspaces.act(ws, { type: 'add', member: editor.deviceId, name: 'Ed', role: 'editor' })
    await workspaces.act(ws, { type: 'add', member: other.deviceId, name: 'Oz', role: 'admin' })
    await workspaces.act(ws, { type: 'role', member: editor.deviceId, role: 'viewer' })
    await workspaces.act(ws, { type: 'role', member: editor.deviceId, role: 'editor' })
    await workspaces.act(ws, { type: 'remove', member: other.deviceId })
    const m = workspaces.heads(ws)
    const doc = 'd'.repeat(32)
    let d = A.change(A.init<{ text: string }>({ actor: newActorId(editor) }), (x) => {
      x.text = ''
    })
    const now: SignedChange[] = []
    const before: SignedChange[] = []
    for (let i = 0; i < CHANGES; i++) {
      d = A.change(d, (x) => A.splice(x, ['text'], i, 0, 'k'))
      const bytes = A.getLastLocalChange(d)!
      now.push(signChange(editor, ws, doc, bytes, m))
      before.push(signChange(editor, ws, doc, bytes))
    }
    const judge = workspaces.judge(ws)
    for (const item of now) assert.ok(!isRejection(validateChange(ws, doc, item, judge, null)))
    for (const item of before) assert.ok(validateByCurrentRole(ws, doc, item, workspaces.roleOf(ws, item.a)))
    // Every result is used, so that no call can be optimised away.
    let ok = 0
    const [old, full, judged] = perItem([
      {
        items: before.length,
        run: () => {
          for (const i of before) ok += validateByCurrentRole(ws, doc, i, workspaces.roleOf(ws, i.a)) ? 1 : 0
        },
      },
      {
        items: now.length,
        run: () => {
          for (const i of now) ok += isRejection(validateChange(ws, doc, i, judge, null)) ? 0 : 1
        },
      },
      {
        items: now.length,
        run: () => {
          for (const i of now) ok += judge(i.a, m).ok ? 1 : 0
        },
      },
    ]) as [number, number, number]
    assert.equal(ok, 3 * CHANGES * ROUNDS)
    const bytes = now.reduce((n, i) => n + i.c.byteLength, 0) / now.length
    console.log(
      `validation of ${CHANGES} changes (${bytes.toFixed(0)} bytes each), median of ${ROUNDS} rounds: ` +
        `before (current role, v1) ${old.toFixed(1)} µs per change; now (state at m, v2) ${full.toFixed(1)} µs; ` +
        `of which the membership judgement ${judged.toFixed(2)} µs`,
    )
  } finally {
    for (const s of stores) s.close()
    dir.remove()
  }
})
