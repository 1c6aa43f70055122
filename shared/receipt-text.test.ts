import { test } from 'node:test'
import assert from 'node:assert/strict'
import { receiptText } from './receipt-text.ts'
import type { Receipt } from './types.ts'

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 16)
const at = (hhmm: string): number => Date.parse(`2026-11-30T${hhmm}:00Z`)
const bob = (r: Partial<Receipt> = {}): Receipt => ({
  deviceId: '12D3KooWBmAwcd4PJNJvfV89HwE48nwkRmAgo8Vy3uQEyNNHBox2',
  name: 'Bob',
  upToDate: false,
  yourEditsAsOf: null,
  lacking: 0,
  online: true,
  lastSeen: null,
  utcOffsetMinutes: null,
  ...r,
})

test('receipts say who has which of your edits, in your time and theirs, and who has been away', () => {
  assert.equal(
    receiptText(bob({ upToDate: true, utcOffsetMinutes: 480 }), at('14:02'), clock),
    'Bob has your latest edit, of 14:02 (22:02 their time)',
  )
  assert.equal(
    receiptText(bob({ yourEditsAsOf: at('14:02'), lacking: 3, utcOffsetMinutes: 480 }), at('14:30'), clock),
    'Bob has your edits as of 14:02 (22:02 their time); 3 newer changes have not reached them',
  )
  assert.equal(
    receiptText(bob({ name: 'Cat', online: false, lastSeen: at('09:12'), lacking: 1 }), at('14:30'), clock),
    'Cat has none of your edits yet; not online since 09:12',
  )
  assert.equal(
    receiptText(bob({ yourEditsAsOf: at('10:00'), lacking: 1 }), at('14:30'), clock),
    'Bob has your edits as of 10:00; 1 newer change has not reached them',
  )
  assert.equal(
    receiptText(bob({ lacking: 0, online: false, lastSeen: null }), at('14:30'), clock),
    'Bob has your latest edit, of 14:30; not seen online yet',
  )
  assert.equal(
    receiptText(bob({ upToDate: true, utcOffsetMinutes: 60 }), at('14:02'), clock, 60),
    'Bob has your latest edit, of 14:02',
    'same zone: one time',
  )
  assert.equal(receiptText(bob({ upToDate: true }), null, clock), 'Bob has every change')
  assert.equal(receiptText(bob(), null, clock), 'Bob does not have every change yet')
})
