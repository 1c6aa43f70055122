/**
 * What the port mapper does with each kind of router answer, with a stand-in router (the real ones, UPnP
 * and NAT-PMP from miniupnpd, are in the NAT matrix: test/netns/nat.test.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { PortMapper, type Router } from './port-mapping.ts'
import type { Log } from '../log.ts'

const LAN = multiaddr('/ip4/192.168.1.5/tcp/4001')
const BRIDGE = multiaddr('/ip4/172.17.0.1/tcp/4001')

function fakeRouter(external: string, refuse: (host: string) => boolean = () => false) {
  const calls = { mapped: [] as string[], stopped: 0 }
  const router: Router = {
    kind: 'NAT-PMP',
    host: '192.168.1.1',
    externalIp: async () => external,
    map: async (port, host) => {
      if (refuse(host)) throw new Error('Not Authorized/Refused')
      calls.mapped.push(`${host}:${port}`)
      return { externalHost: external, externalPort: port + 1, internalHost: host, internalPort: port }
    },
    stop: async () => {
      calls.stopped++
    },
  }
  return { router, calls }
}

function mapper(find: () => Promise<Router | null>, retryMs = 60_000) {
  const lines: string[] = []
  const log: Log = (_level, msg) => void lines.push(msg)
  let changed = 0
  const m = new PortMapper({ log, onChange: () => changed++, find }, retryMs)
  return { m, lines, changed: () => changed }
}

test("a router that forwards: its public address and port first; a refused bridge address does not stop the LAN's; removed at stop", async () => {
  const { router, calls } = fakeRouter('203.0.113.7', (h) => h.startsWith('172.'))
  const { m, changed } = mapper(async () => router)
  await m.start([BRIDGE, LAN, multiaddr('/ip4/127.0.0.1/tcp/4001')])
  assert.deepEqual(m.addresses(), ['/ip4/203.0.113.7/tcp/4002'])
  assert.deepEqual(calls.mapped, ['192.168.1.5:4001'], 'loopback is never asked for')
  assert.equal(m.mappings()[0]!.via, 'NAT-PMP')
  assert.equal(m.status().state, 'mapped')
  assert.match(m.status().text, /forwards 203\.0\.113\.7:4002/)
  assert.equal(changed(), 1)
  await m.stop()
  assert.equal(calls.stopped, 1)
  assert.deepEqual(m.addresses(), [])
})

test('a router whose own address is private (a second NAT upstream): nothing announced, said why, asked again later', async () => {
  const { router, calls } = fakeRouter('100.64.12.9')
  let asked = 0
  const { m, lines } = mapper(async () => {
    asked++
    return router
  }, 20)
  await m.start([LAN])
  assert.deepEqual(m.addresses(), [])
  assert.deepEqual(calls.mapped, [], 'nothing mapped that would reach nobody')
  assert.equal(calls.stopped, 1)
  assert.equal(m.status().state, 'double-nat')
  assert.match(m.status().text, /another NAT is upstream/)
  assert.ok(lines.some((l) => l.includes('second NAT upstream')))
  const deadline = Date.now() + 2_000
  while (asked < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  assert.ok(asked >= 2, 'asked again after retryMs')
  await m.stop()
})

test('a router that refuses every address, or none that answers: said in words, relay named as the way in', async () => {
  const refusing = fakeRouter('203.0.113.7', () => true)
  const a = mapper(async () => refusing.router)
  await a.m.start([LAN])
  assert.equal(a.m.status().state, 'refused')
  assert.match(a.m.status().text, /did not forward a port: the router 192\.168\.1\.1 refused to forward 192\.168\.1\.5:4001/)
  assert.equal(refusing.calls.stopped, 1)
  await a.m.stop()

  const b = mapper(async () => null)
  await b.m.start([LAN])
  assert.equal(b.m.status().state, 'no-router')
  assert.match(b.m.status().text, /UPnP and NAT-PMP/)
  await b.m.stop()
})

test('nothing behind a router (loopback, a public address), or turned off: no router is looked for', async () => {
  let asked = 0
  const { m } = mapper(async () => {
    asked++
    return null
  })
  assert.equal(m.status().state, 'off', 'before start, as when the person turned it off')
  await m.start([multiaddr('/ip4/127.0.0.1/tcp/4001'), multiaddr('/ip4/198.51.100.4/tcp/4001')])
  assert.equal(asked, 0)
  assert.equal(m.status().state, 'not-needed')
  await m.stop()
})
