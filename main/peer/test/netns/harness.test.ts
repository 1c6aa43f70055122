/**
 * Self-tests of the network-namespace harness: that its NAT behaves like the NATs it stands for, that the
 * proxy delays and stalls without corrupting a byte, and that a Grapevine peer runs in a namespace. The NAT
 * scenarios built on it rely on exactly these properties, so they are checked here on their own first.
 *
 * Needs root, `ip` and `nft` (Debian's iproute2 and nftables); elsewhere the namespace tests skip and say why.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, connect, type AddressInfo } from 'node:net'
import { test } from 'node:test'
import { GrapevineError } from '../../../../shared/protocol.ts'
import { waitFor } from '../helpers.ts'
import { seededRandom } from '../random.ts'
import { namespaceSupport, netnsNames, Topology } from './harness.ts'
import { startProxy } from './proxy.ts'

const support = namespaceSupport()
if (!support.ok) console.log(`netns harness tests skipped: ${support.reason}`)
const rnd = seededRandom('netns harness')

test('endpoint-independent NAT: the public host sees the router, and cannot reach in', { timeout: 30_000 }, async (t) => {
  if (!support.ok) return t.skip(support.reason)
  const topo = new Topology()
  try {
    const server = topo.addPublicHost('srv')
    const home = topo.addNatHost('home')
    const whoami = await topo.startWhoamiServer(server.ns, server.ip)
    const out = await topo.tcpProbe(home.ns, { host: server.ip, port: whoami.port })
    assert.ok(out.ok, `home → public: ${out.error}`)
    assert.equal(out.reply?.split(':')[0], home.router.ip, 'the public host sees the router’s outside address')

    // A listener at home; unsolicited connections from outside must not get to it.
    const homeListener = await topo.startWhoamiServer(home.ns, home.ip)
    const toPrivate = await topo.tcpProbe(server.ns, { host: home.ip, port: homeListener.port }, { timeoutMs: 1_000 })
    assert.equal(toPrivate.ok, false, 'a private address is not reachable from the internet')
    const toRouter = await topo.tcpProbe(server.ns, { host: home.router.ip, port: homeListener.port }, { timeoutMs: 1_000 })
    assert.equal(toRouter.ok, false, 'no port forward: the router does not pass unsolicited connections in')
    console.log(`to private address: ${toPrivate.error}; to router: ${toRouter.error}`)
    // The home listener itself works (it is the NAT that keeps the internet out, not a dead listener).
    const local = await topo.tcpProbe(home.ns, { host: home.ip, port: homeListener.port })
    assert.ok(local.ok, `home → its own listener: ${local.error}`)
  } finally {
    topo.cleanup()
  }
})

test('symmetric NAT maps one home port to a new external port per destination; endpoint-independent keeps it', {
  timeout: 30_000,
}, async (t) => {
  if (!support.ok) return t.skip(support.reason)
  const topo = new Topology()
  try {
    const a = topo.addPublicHost('a')
    const b = topo.addPublicHost('b')
    const eim = topo.addNatHost('eim')
    const sym = topo.addNatHost('sym', { symmetric: true })
    const servers = [
      { host: a.ip, port: (await topo.startWhoamiServer(a.ns, a.ip)).port },
      { host: b.ip, port: (await topo.startWhoamiServer(b.ns, b.ip)).port },
    ]
    const seen = async (home: typeof eim): Promise<string[]> => {
      const localPort = rnd.between(20_000, 30_000)
      const ports: string[] = []
      for (const target of servers) {
        const r = await topo.tcpProbe(home.ns, target, { localAddress: home.ip, localPort })
        assert.ok(r.ok, `${home.ns} → ${target.host} from port ${localPort}: ${r.error}`)
        const [addr, port] = r.reply!.split(':')
        assert.equal(addr, home.router.ip)
        ports.push(port!)
      }
      console.log(`${home.symmetric ? 'symmetric' : 'endpoint-independent'}: home port ${localPort} seen as ${ports.join(' and ')}`)
      return ports
    }
    const [e1, e2] = await seen(eim)
    assert.equal(e1, e2, 'endpoint-independent NAT: the same external port for both destinations')
    const [s1, s2] = await seen(sym)
    assert.notEqual(s1, s2, 'symmetric NAT: a different external port per destination')
  } finally {
    topo.cleanup()
  }
})

/** An echo server on loopback (no namespace needed): the proxy's shaping is what is under test. */
async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer({ allowHalfOpen: true }, (s) => s.pipe(s))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** Sends `data` through 127.0.0.1:`port`, half-closes, and returns everything that comes back. */
function exchange(port: number, data: Buffer, timeoutMs: number): Promise<{ back: Buffer; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const chunks: Buffer[] = []
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no reply in ${timeoutMs} ms`)))
    s.on('connect', () => s.end(data))
    s.on('data', (d: Buffer) => chunks.push(d))
    s.on('end', () => {
      s.end()
      resolve({ back: Buffer.concat(chunks), ms: performance.now() - started })
    })
    s.on('error', reject)
  })
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('the proxy: 100 ms each way is a ≥ 200 ms round trip; 1 MiB arrives intact through 2% loss', { timeout: 30_000 }, async () => {
  const echo = await echoServer()
  const shaped = await startProxy({
    listen: { host: '127.0.0.1' },
    target: { host: '127.0.0.1', port: echo.port },
    delayMs: 100,
    seed: rnd.int(2 ** 32),
  })
  const lossy = await startProxy({
    listen: { host: '127.0.0.1' },
    target: { host: '127.0.0.1', port: echo.port },
    delayMs: 100,
    loss: 0.02,
    seed: rnd.int(2 ** 32),
  })
  // Loss this high makes stalls certain, to see that a held chunk holds back what follows and never reorders.
  const veryLossy = await startProxy({
    listen: { host: '127.0.0.1' },
    target: { host: '127.0.0.1', port: echo.port },
    delayMs: 10,
    loss: 0.5,
    seed: rnd.int(2 ** 32),
  })
  try {
    const rtt = await exchange(shaped.port, Buffer.from('x'), 5_000)
    assert.equal(rtt.back.toString(), 'x')
    assert.ok(rtt.ms >= 200, `round trip ${rtt.ms.toFixed(1)} ms`)
    console.log(`1-byte round trip through 100 ms each way: ${rtt.ms.toFixed(1)} ms`)

    const mib = randomBytes(1024 * 1024)
    const big = await exchange(lossy.port, mib, 20_000)
    assert.equal(big.back.length, mib.length)
    assert.equal(sha(big.back), sha(mib), '1 MiB echoed intact and in order')
    console.log(`1 MiB each way with 2% loss: ${big.ms.toFixed(0)} ms, ${lossy.stats().stalls} stalls`)

    const many = await new Promise<Buffer>((resolve, reject) => {
      // Many small writes spaced out, so the proxy reads many chunks and some are "lost".
      const sent: Buffer[] = []
      const chunks: Buffer[] = []
      const s = connect({ host: '127.0.0.1', port: veryLossy.port, allowHalfOpen: true })
      s.setTimeout(15_000, () => s.destroy(new Error('no reply in 15 s')))
      s.on('connect', async () => {
        for (let i = 0; i < 40; i++) {
          const piece = Buffer.from(`${i}:${rnd.text(rnd.between(1, 200))};`)
          sent.push(piece)
          s.write(piece)
          await new Promise((r) => setTimeout(r, 2))
        }
        s.end()
      })
      s.on('data', (d: Buffer) => chunks.push(d))
      s.on('end', () => {
        s.end()
        assert.equal(Buffer.concat(chunks).toString(), Buffer.concat(sent).toString(), 'in order through stalls')
        resolve(Buffer.concat(chunks))
      })
      s.on('error', reject)
    })
    assert.ok(many.length > 0)
    assert.ok(veryLossy.stats().stalls > 0, 'stalls happened')
    console.log(`40 writes through 50% loss: ${veryLossy.stats().stalls} stalls, order kept`)
  } finally {
    await Promise.all([shaped.close(), lossy.close(), veryLossy.close(), echo.close()])
  }
})

test('the proxy runs as a script in a namespace and delays traffic between hosts', { timeout: 30_000 }, async (t) => {
  if (!support.ok) return t.skip(support.reason)
  const topo = new Topology()
  try {
    const a = topo.addPublicHost('a')
    const b = topo.addPublicHost('b')
    const whoami = await topo.startWhoamiServer(b.ns, b.ip)
    const proxy = await topo.startProxyIn(a.ns, {
      listen: `${a.ip}:0`,
      target: `${b.ip}:${whoami.port}`,
      delayMs: 100,
      seed: rnd.int(2 ** 32),
    })
    const direct = await topo.tcpProbe(a.ns, { host: b.ip, port: whoami.port })
    const via = await topo.tcpProbe(a.ns, { host: proxy.host, port: proxy.port })
    assert.ok(direct.ok && via.ok, `probes: ${direct.error ?? ''} ${via.error ?? ''}`)
    assert.equal(via.reply?.split(':')[0], a.ip, 'the target sees the proxy host')
    assert.ok(via.ms! >= 200, `round trip via proxy ${via.ms} ms`)
    console.log(`round trip a→b direct ${direct.ms!.toFixed(1)} ms, via proxy ${via.ms!.toFixed(1)} ms`)
    await proxy.stop()
  } finally {
    topo.cleanup()
  }
})

test('two Grapevine peers on public hosts: invite and join across namespaces', { timeout: 60_000 }, async (t) => {
  if (!support.ok) return t.skip(support.reason)
  const topo = new Topology()
  try {
    const a = topo.addPublicHost('alice')
    const b = topo.addPublicHost('bob')
    const [alice, bob] = await Promise.all([
      topo.startPeerIn(a.ns, { host: a.ip, name: 'alice' }),
      topo.startPeerIn(b.ns, { host: b.ip, name: 'bob' }),
    ])
    const addrs = await alice.addrs()
    assert.ok(
      addrs.some((x) => x.startsWith(`/ip4/${a.ip}/tcp/`)),
      `alice listens on her namespace address: ${addrs.join(', ')}`,
    )
    const ws = await alice.request('workspace.create', { name: 'Team' })
    const invite = await alice.request('workspace.invite', { workspaceId: ws.id, approve: false })
    await bob.request('workspace.join', { code: invite.code })
    const list = await bob.request('workspace.list', {})
    assert.ok(
      list.some((w) => w.id === ws.id),
      'bob sees the workspace',
    )
    // Beyond joining: a document written at alice's reaches bob over the namespace network, and bytes cross IPC as bytes.
    const doc = await alice.request('doc.create', { workspaceId: ws.id, title: 'Notes', text: 'hello from alice' })
    const read = await waitFor('the document at bob', async () => {
      const r = await bob.request('doc.read', { docId: doc.id })
      return r.text === 'hello from alice' ? r : undefined
    })
    assert.equal(read.title, 'Notes')
    const opened = await bob.request('doc.open', { docId: doc.id })
    assert.ok(opened.bytes instanceof Uint8Array && opened.bytes.length > 0, 'Uint8Array results survive IPC')
    await assert.rejects(
      bob.request('doc.read', { docId: 'no-such-doc' }),
      (err: Error) => err instanceof GrapevineError,
      'errors keep their code',
    )
    const stats = await bob.stats()
    assert.equal(typeof stats.held, 'number')
    await Promise.all([alice.stop(), bob.stop()])
  } finally {
    topo.cleanup()
  }
})

// Last, so it sees what every test above left behind (tests in one file run in order).
test('no namespace of this run is left', (t) => {
  if (!support.ok) return t.skip(support.reason)
  const left = netnsNames().filter((ns) => ns.startsWith(`gv${process.pid}x`))
  assert.deepEqual(left, [], 'every namespace of this run is deleted')
})
