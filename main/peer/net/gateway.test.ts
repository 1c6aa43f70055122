import { test } from 'node:test'
import assert from 'node:assert/strict'
import { defaultGateway, gatewayFromProcRoute, gatewayFromRouteGet, gatewayFromRoutePrint } from './gateway.ts'

const PROC_ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
wg0\t00000000\t00000000\t0001\t0\t0\t50\t00000000\t0\t0\t0
`

const ROUTE_GET = `   route to: default
destination: default
       mask: default
    gateway: 192.168.1.254
  interface: en0
      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING,GLOBAL>
 recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire
       0         0         0         0         0         0      1500         0
`

const ROUTE_PRINT = `===========================================================================
Schnittstellenliste
 12...00 15 5d 00 00 00 ......Microsoft Hyper-V Network Adapter
  1...........................Software Loopback Interface 1
===========================================================================

IPv4-Routentabelle
===========================================================================
Aktive Routen:
     Netzwerkziel    Netzwerkmaske          Gateway    Schnittstelle Metrik
          0.0.0.0          0.0.0.0      192.168.0.1    192.168.0.23     35
          0.0.0.0          0.0.0.0         10.8.0.1        10.8.0.6     25
          0.0.0.0          0.0.0.0      Auf Verbindung       10.9.0.2    5
===========================================================================
Ständige Routen:
  Netzwerkadresse          Netzmaske  Gatewayadresse  Metrik
          0.0.0.0          0.0.0.0      172.16.0.1     Standard
===========================================================================
`

test('the default gateway from each OS: the lowest metric among routes via a gateway', () => {
  // Linux: little-endian hex; the wg0 route has no gateway flag and is skipped though its metric is lowest.
  assert.equal(gatewayFromProcRoute(PROC_ROUTE), '10.0.0.1')
  assert.equal(gatewayFromProcRoute(PROC_ROUTE.split('\n').slice(0, 2).join('\n')), '192.168.1.1')
  assert.equal(gatewayFromRouteGet(ROUTE_GET), '192.168.1.254')
  // Windows, in German: the numeric rows are the same in every language; on-link and persistent rows are skipped.
  assert.equal(gatewayFromRoutePrint(ROUTE_PRINT), '10.8.0.1')
})

test('no default gateway, or output that is not a routing table: none', async () => {
  assert.equal(gatewayFromProcRoute('Iface\tDestination\n'), null)
  assert.equal(gatewayFromProcRoute(''), null)
  assert.equal(gatewayFromProcRoute('x\neth0\t00000000\tZZZZZZZZ\t0003\t0\t0\t0\t00000000\n'), null)
  assert.equal(gatewayFromRouteGet('route: writing to routing socket: not in table\n'), null)
  assert.equal(gatewayFromRouteGet('    gateway: utun3\n'), null)
  assert.equal(gatewayFromRoutePrint('Active Routes:\nNone\n'), null)
  assert.equal(gatewayFromRoutePrint('0.0.0.0 0.0.0.0 On-link 10.0.0.2 5\n'), null)
  // A platform Grapevine does not ship for is not asked.
  assert.equal(await defaultGateway('aix'), null)
})

test("this machine's default gateway is read from its routing table", { skip: process.platform !== 'linux' }, async () => {
  const gw = await defaultGateway()
  const { readFileSync } = await import('node:fs')
  assert.equal(gw, gatewayFromProcRoute(readFileSync('/proc/net/route', 'utf8')))
})
