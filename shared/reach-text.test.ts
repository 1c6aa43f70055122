import { test } from 'node:test'
import assert from 'node:assert/strict'
import { reachText } from './reach-text.ts'

test('how a teammate is reached reads as words, with the round trip when measured', () => {
  const base = { rttMs: null, relayedBy: null, relayedByName: null, addresses: [] as string[] }
  assert.equal(reachText({ ...base, how: 'lan', rttMs: 2.6 }), 'On this LAN · 3 ms round trip')
  assert.equal(reachText({ ...base, how: 'internet' }), 'Direct over the internet')
  assert.equal(reachText({ ...base, how: 'relayed', relayedBy: '12D3KooWR', relayedByName: 'Bob' }), 'Relayed through Bob’s peer')
  assert.equal(reachText({ ...base, how: 'relayed', relayedBy: '12D3KooWR' }), 'Relayed through 12D3KooWR')
  assert.equal(reachText({ ...base, how: null, addresses: ['/ip4/10.0.0.2/tcp/1'] }), 'Not reachable now (1 address known)')
  assert.equal(reachText({ ...base, how: null }), 'No address known')
})
