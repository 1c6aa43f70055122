/**
 * Teammates behind NATs, in real network namespaces (harness.ts): who reaches whom, how, how soon, and
 * how fast an edit crosses. Each scenario prints a row of the table at the end:
 * scenario | how A reached B | time to first sync | edit → visible p50 / p99.
 *
 * Needs root, `ip` and `nft`; elsewhere every scenario skips and says why.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { waitFor } from '../helpers.ts'
import { namespaceSupport, ROUTABLE_INTERNET, Topology, upnpUnsupported, type PeerHandle } from './harness.ts'
import { testSeed } from '../random.ts'
import { decodeInvite } from '../../workspace/invites.ts'

const support = namespaceSupport()
if (!support.ok) console.log(`NAT scenarios skipped: ${support.reason}`)

const rows: string[][] = []
after(() => {
  if (rows.length === 0) return
  const head = ['scenario', 'how A reached B', 'first sync', 'edit → visible p50 / p99']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: string[]) => `# | ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  console.log(['', line(head), `# |${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'))
  // Why only a forwarded port makes a path direct: no hole punching runs (main/peer/README.md, "Not yet").
  console.log(
    '# relayed paths that become direct: where a router forwards a port (UPnP or NAT-PMP); none by hole punching (see main/peer/README.md, "Not yet")',
  )
})

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}

/** `owner` forms a workspace and each of `others` joins it by invite; resolves with its id. */
async function team(owner: PeerHandle, others: PeerHandle[]): Promise<string> {
  const ws = await owner.request('workspace.create', { name: 'Team' })
  for (const p of others) {
    const invite = await owner.request('workspace.invite', { workspaceId: ws.id, approve: false })
    await p.request('workspace.join', { code: invite.code }, 30_000)
  }
  return ws.id
}

/** How `from` lists `to` in `peer.list` once connected (waits for it). */
async function reachOf(from: PeerHandle, toId: string, timeoutMs: number): Promise<{ how: string; via: string | null }> {
  return waitFor(
    'a connection',
    async () => {
      const info = (await from.request('peer.list', {})).find((p) => p.peerId === toId)
      return info?.online && info.how ? { how: info.how, via: info.relayedByName } : null
    },
    timeoutMs,
    100,
  )
}

/** Waits until `from` reaches `toId` directly over the internet, with no relayed connection left to it. */
async function untilDirect(from: PeerHandle, toId: string, what: string): Promise<void> {
  await waitFor(
    what,
    async () => {
      const info = (await from.request('peer.list', {})).find((p) => p.peerId === toId)
      return info?.online && info.how === 'internet' && !(await from.connectionsTo(toId)).some((c) => c.includes('/p2p-circuit'))
    },
    30_000,
    50,
  )
}

/** Edits on `a`, each waited for at `b`: milliseconds from the request to the text read there. */
async function editTimes(a: PeerHandle, b: PeerHandle, docId: string, n: number): Promise<number[]> {
  const out: number[] = []
  let text = (await a.request('doc.read', { docId })).text
  for (let i = 0; i < n; i++) {
    text += `${i} `
    const started = performance.now()
    await a.request('doc.setText', { docId, text })
    await waitFor('the edit at the other peer', async () => (await b.request('doc.read', { docId })).text === text, 10_000, 2)
    out.push(performance.now() - started)
  }
  return out
}

async function crossBothWays(a: PeerHandle, b: PeerHandle, ws: string): Promise<{ firstSync: number; times: number[] }> {
  const started = performance.now()
  const docId = (await a.request('doc.create', { workspaceId: ws, title: 'Plan', text: 'start ' })).id
  await waitFor('the document at B', async () => (await b.request('doc.read', { docId }).catch(() => null))?.text === 'start ', 30_000, 20)
  const firstSync = performance.now() - started
  const times = await editTimes(a, b, docId, 20)
  await editTimes(b, a, docId, 5)
  return { firstSync, times }
}

const row = (scenario: string, how: string, r: { firstSync: number; times: number[] }): string[] => [
  scenario,
  how,
  `${r.firstSync.toFixed(0)} ms`,
  `${pct(r.times, 50).toFixed(1)} / ${pct(r.times, 99).toFixed(1)} ms`,
]

/**
 * R on a public address relays; A and B sit behind NATs of their own (B's symmetric if asked). They join
 * through R, find each other by the addresses R passes on, and can only meet through R.
 */
async function throughRelay(t: { skip(why: string): void }, scenario: string, symmetric: boolean): Promise<void> {
  if (!support.ok) return t.skip(support.reason)
  const topo = new Topology()
  try {
    const r = topo.addPublicHost('r')
    const a = topo.addNatHost('a')
    const b = topo.addNatHost('b', { symmetric })
    const R = await topo.startPeerIn(r.ns, { host: r.ip, name: 'R' })
    const A = await topo.startPeerIn(a.ns, { host: a.ip, name: 'A' })
    const B = await topo.startPeerIn(b.ns, { host: b.ip, name: 'B' })
    const ws = await team(R, [A, B])
    // Each holds a slot on R before anything is measured. A joiner asks R again once R knows it as a member
    // (net/relay.ts keepRelaySlot), on a new connection to R: a connection to A relayed over the old one
    // goes with it and is made again. Without this wait that reconnect sometimes fell on the check below
    // that the 300 KiB did not reset the relayed connection (in CI, and in 2 of 4 runs of this file here).
    for (const [name, p] of [['A', A] as const, ['B', B] as const])
      await waitFor(
        `${name} to hold a slot on R`,
        async () => (await p.request('network.info', {})).listenAddresses.some((a) => a.includes('/p2p-circuit')),
        30_000,
        100,
      )
    const bId = (await B.request('identity.get', {})).deviceId
    const reach = await reachOf(A, bId, 30_000)
    assert.equal(reach.how, 'relayed', 'behind two NATs, the path is through the relay')
    assert.equal(reach.via, 'R', 'relayed through R, by name')
    const result = await crossBothWays(A, B, ws)
    // A relayed connection between members has no data limit (libp2p's default is 128 KiB per connection), and
    // 300 KiB of text (eleven changes of up to 32 Ki characters) crosses it without resetting it: the
    // connection that carried it is the one open before. Under CPU load it used to stall and be closed while
    // R applied the changes in one call of seconds (session 30: 5 of 6 runs of these two tests beside two
    // busy loops; sync/remote-batch.ts now applies each alone, a turn of the event loop apart).
    const before = await A.connectionIdsTo(bId)
    const big = 'x'.repeat(300 * 1024)
    const bigDoc = (await A.request('doc.create', { workspaceId: ws, title: 'Big', text: big })).id
    const arrived = async () => (await B.request('doc.read', { docId: bigDoc }).catch(() => null))?.text === big
    await waitFor('300 KiB through the relay', arrived, 30_000, 50)
    assert.equal((await A.request('peer.list', {})).find((p) => p.peerId === bId)?.how, 'relayed', 'still relayed')
    const after = await A.connectionIdsTo(bId)
    assert.ok(
      before.some((id) => after.includes(id)),
      `the same connection, not reset and dialled again (before: ${before.join(', ')}; after: ${after.join(', ')})`,
    )
    rows.push(row(scenario, `relayed through ${reach.via}`, result))
  } finally {
    topo.cleanup()
  }
}

test('A and B behind their own NATs reach each other through R, a teammate on a public address', { timeout: 120_000 }, (t) =>
  throughRelay(t, 'A, B behind NATs, R public', false),
)

test('symmetric NAT on one side: stays relayed and works', { timeout: 120_000 }, (t) => throughRelay(t, 'B behind symmetric NAT', true))

test('A behind a NAT, B public: A reaches B directly, and B reaches A over that connection', { timeout: 120_000 }, async (t) => {
  if (!support.ok) return t.skip(support.reason)
  const topo = new Topology()
  try {
    const a = topo.addNatHost('a')
    const b = topo.addPublicHost('b')
    const B = await topo.startPeerIn(b.ns, { host: b.ip, name: 'B' })
    const A = await topo.startPeerIn(a.ns, { host: a.ip, name: 'A' })
    const ws = await team(B, [A])
    const reach = await reachOf(A, (await B.request('identity.get', {})).deviceId, 30_000)
    assert.equal(reach.how, 'internet', 'direct over the internet')
    const back = await reachOf(B, (await A.request('identity.get', {})).deviceId, 30_000)
    assert.equal(back.how, 'internet')
    // The team's own observation: A came in to B directly from A's router's public address.
    const bReach = (await B.request('network.info', {})).reachability
    assert.equal(bReach.state, 'internet', bReach.text)
    assert.match(bReach.text, new RegExp(`A connected in directly from ${a.router.ip.replaceAll('.', '\\.')}`))
    const aReach = (await A.request('network.info', {})).reachability
    assert.equal(aReach.state, 'unconfirmed', 'nobody can come in to A')
    assert.match(aReach.text, /Behind a NAT/)
    const result = await crossBothWays(B, A, ws)
    rows.push(row('A behind NAT, B public', 'direct (A dialled)', result))
  } finally {
    topo.cleanup()
  }
})

test('no relay anywhere: the app says why, and they sync as soon as a relay appears', { timeout: 150_000 }, async (t) => {
  if (!support.ok) return t.skip(support.reason)
  const topo = new Topology()
  try {
    const r = topo.addPublicHost('r')
    const a = topo.addNatHost('a')
    const b = topo.addNatHost('b')
    // R would relay, but is told not to: nobody can.
    let R = await topo.startPeerIn(r.ns, { host: r.ip, name: 'R', config: { relay: 'off' } })
    const A = await topo.startPeerIn(a.ns, { host: a.ip, name: 'A' })
    const B = await topo.startPeerIn(b.ns, { host: b.ip, name: 'B' })
    const ws = await team(R, [A, B])
    const bId = (await B.request('identity.get', {})).deviceId
    const why = await waitFor(
      'A to say why B is unreachable',
      async () => {
        const why = (await A.request('peer.list', {})).find((p) => p.peerId === bId)?.unreachable
        return why?.includes('relay') ? why : null
      },
      30_000,
      200,
    )
    console.log(`# A about B with no relay: ${why}`)
    assert.match(why, /no teammate can relay; ask someone with a reachable peer to turn on relay/)
    const docId = (await A.request('doc.create', { workspaceId: ws, title: 'Plan', text: 'from A' })).id

    // R restarts as a relay, from the same profile.
    const port = Number((await R.addrs())[0]!.split('/tcp/')[1]!.split('/')[0])
    await R.stop()
    R = await topo.startPeerIn(r.ns, { host: r.ip, name: 'R', port, profileDir: R.profileDir, config: { relay: 'on' } })
    const started = performance.now()
    const reach = await reachOf(A, bId, 60_000)
    await waitFor(
      'the document at B',
      async () => (await B.request('doc.read', { docId }).catch(() => null))?.text === 'from A',
      60_000,
      50,
    )
    const firstSync = performance.now() - started
    const times = await editTimes(A, B, docId, 10)
    rows.push(row('no relay, then R relays', `${reach.how} through ${reach.via}`, { firstSync, times }))
  } finally {
    topo.cleanup()
  }
})

/** Drops everything `ns` sends to `ip`: the direct path between two hosts is gone, a proxy's remains. */
async function cutOff(topo: Topology, ns: string, ip: string): Promise<void> {
  await topo.run(ns, ['nft', 'add', 'table', 'inet', 'cut'])
  await topo.run(ns, ['nft', 'add chain inet cut out { type filter hook output priority 0 ; }'])
  await topo.run(ns, ['nft', 'add', 'rule', 'inet', 'cut', 'out', 'ip', 'daddr', ip, 'drop'])
}

test('a 200 ms round trip with 2% loss: 1,000 edits caught up, and an edit still arrives', { timeout: 240_000 }, async (t) => {
  if (!support.ok) return t.skip(support.reason)
  const topo = new Topology()
  try {
    const a = topo.addPublicHost('a')
    const b = topo.addPublicHost('b')
    const p = topo.addPublicHost('p')
    const B = await topo.startPeerIn(b.ns, { host: b.ip, name: 'B' })
    let A = await topo.startPeerIn(a.ns, { host: a.ip, name: 'A' })
    const ws = await team(B, [A])
    const bId = (await B.request('identity.get', {})).deviceId
    const docId = (await B.request('doc.create', { workspaceId: ws, title: 'Far', text: '' })).id
    await waitFor('the document at A', async () => (await A.request('doc.read', { docId }).catch(() => null)) !== null, 30_000, 50)
    await A.stop()
    // From now on A and B reach each other only through the proxy: 100 ms each way, 2% of reads held a
    // retransmission timeout.
    await cutOff(topo, a.ns, b.ip)
    await cutOff(topo, b.ns, a.ip)
    const bPort = Number((await B.addrs())[0]!.split('/tcp/')[1]!.split('/')[0])
    const seed = testSeed()
    const proxy = await topo.startProxyIn(p.ns, { listen: `${p.ip}:0`, target: `${b.ip}:${bPort}`, delayMs: 100, loss: 0.02, seed })
    console.log(`# proxy seed=${proxy.seed} (GRAPEVINE_SEED replays it)`)

    // 1,000 edits while A is away, each its own change.
    let text = ''
    for (let i = 0; i < 1_000; i++) {
      text += `${i % 10}`
      await B.request('doc.setText', { docId, text })
    }
    A = await topo.startPeerIn(a.ns, { host: a.ip, name: 'A', profileDir: A.profileDir })
    const started = performance.now()
    await A.request('peer.dial', { address: `/ip4/${proxy.host}/tcp/${proxy.port}/p2p/${bId}` }, 30_000)
    await waitFor('the 1,000 edits at A', async () => (await A.request('doc.read', { docId })).text === text, 120_000, 20)
    const catchUp = performance.now() - started
    console.log(`# catch-up of 1,000 edits over 200 ms RTT, 2% loss: ${catchUp.toFixed(0)} ms`)
    const times = await editTimes(B, A, docId, 10)
    assert.equal((await A.request('peer.list', {})).find((x) => x.peerId === bId)?.how, 'internet', 'through the proxy, a direct TCP path')
    rows.push(row('200 ms RTT, 2% loss (proxy)', 'direct, through the proxy', { firstSync: catchUp, times }))
    await proxy.stop()
  } finally {
    topo.cleanup()
  }
})

test("relayed, then direct: A's router starts forwarding ports (UPnP); B upgrades and stays connected when R stops", {
  timeout: 150_000,
}, async (t) => {
  if (!support.ok) return t.skip(support.reason)
  const noUpnp = upnpUnsupported()
  if (noUpnp) {
    console.log(`UPnP scenario skipped: ${noUpnp}`)
    return t.skip(noUpnp)
  }
  // miniupnpd forwards no port of a documentation-range address: this internet is a routable range that
  // no namespace has a route out of.
  const topo = new Topology({ internet: ROUTABLE_INTERNET })
  try {
    const r = topo.addPublicHost('r')
    const a = topo.addNatHost('a', { upnp: true })
    const b = topo.addNatHost('b')
    const R = await topo.startPeerIn(r.ns, { host: r.ip, name: 'R' })
    // A's router forwards nothing yet: A asks it again every second (every 10 minutes outside tests).
    const A = await topo.startPeerIn(a.ns, { host: a.ip, name: 'A', config: { portMappingRetryMs: 1_000 } })
    const B = await topo.startPeerIn(b.ns, { host: b.ip, name: 'B' })
    // libp2p alone would announce R's public address only once AutoNAT confirmed it: R's invites would carry none.
    assert.ok(
      (await R.addrs()).some((x) => x.startsWith(`/ip4/${r.ip}/tcp/`)),
      'a peer on a public address announces it',
    )
    const ws = await team(R, [A, B])
    const aId = (await A.request('identity.get', {})).deviceId
    const bId = (await B.request('identity.get', {})).deviceId
    const before = await reachOf(B, aId, 30_000)
    assert.equal(before.how, 'relayed', 'no forwarded port yet: through R')
    const result = await crossBothWays(A, B, ws)

    await topo.startUpnp(a)
    const started = performance.now()
    const mapped = await waitFor("A's router to forward its port", async () => (await A.stats()).mapped[0]?.address ?? null, 20_000, 50)
    assert.ok(mapped.startsWith(`/ip4/${a.router.ip}/tcp/`), `forwarded on the router's public address (${mapped})`)
    // A's invites (an admin's) now lead there first: a joiner anywhere reaches A without any relay.
    await R.request('member.setRole', { workspaceId: ws, deviceId: aId, role: 'admin' })
    const invite = await waitFor(
      'A an admin',
      () => A.request('workspace.invite', { workspaceId: ws, approve: false }).catch(() => null),
      20_000,
      100,
    )
    assert.equal(decodeInvite(invite.code).addrs[0], mapped, "the forwarded port is the invite's first address")
    await untilDirect(B, aId, 'B to reach A directly, and the relayed connection let go')
    const upgradedIn = performance.now() - started
    assert.equal((await A.request('peer.list', {})).find((p) => p.peerId === bId)?.how, 'internet', 'A sees the same direct connection')

    // R goes away: the direct path does not need it.
    await R.stop()
    const docId = (await A.request('doc.create', { workspaceId: ws, title: 'After R', text: 'still here' })).id
    await waitFor(
      'an edit after R stopped',
      async () => (await B.request('doc.read', { docId }).catch(() => null))?.text === 'still here',
      15_000,
      20,
    )
    const after = await editTimes(B, A, docId, 10)
    assert.ok((await A.request('peer.list', {})).find((p) => p.peerId === bId)?.online, 'A and B still connected without R')
    console.log(
      `# A's router forwards ${mapped}: direct ${upgradedIn.toFixed(0)} ms after the router started forwarding; with R stopped, B → A p50 ${pct(after, 50).toFixed(1)} / p99 ${pct(after, 99).toFixed(1)} ms`,
    )
    rows.push(
      row(
        "A's router forwards a port (UPnP) later",
        `relayed through ${before.via}, then direct in ${upgradedIn.toFixed(0)} ms; stays when R stops`,
        result,
      ),
    )
  } finally {
    topo.cleanup()
  }
})

test("a router that speaks only NAT-PMP forwards A's port: B, behind its own NAT, reaches A directly; the mapping goes at stop", {
  timeout: 150_000,
}, async (t) => {
  if (!support.ok) return t.skip(support.reason)
  const noUpnp = upnpUnsupported()
  if (noUpnp) {
    console.log(`NAT-PMP scenario skipped: ${noUpnp}`)
    return t.skip(noUpnp)
  }
  const topo = new Topology({ internet: ROUTABLE_INTERNET })
  try {
    const r = topo.addPublicHost('r')
    const a = topo.addNatHost('a', { upnp: true })
    const b = topo.addNatHost('b')
    // No SSDP, no IGD: A's peer finds no UPnP router (5 s) and asks its default gateway with NAT-PMP.
    await topo.startUpnp(a, { natPmpOnly: true })
    const R = await topo.startPeerIn(r.ns, { host: r.ip, name: 'R' })
    const A = await topo.startPeerIn(a.ns, { host: a.ip, name: 'A' })
    const B = await topo.startPeerIn(b.ns, { host: b.ip, name: 'B' })
    const mapped = await waitFor("A's router to forward its port", async () => (await A.stats()).mapped[0] ?? null, 20_000, 50)
    assert.equal(mapped.via, 'NAT-PMP')
    assert.equal(mapped.gateway, a.router.insideIp, 'asked at the default gateway')
    assert.ok(mapped.address.startsWith(`/ip4/${a.router.ip}/tcp/`), `forwarded on the router's public address (${mapped.address})`)
    const status = (await A.request('network.info', {})).portMapping
    assert.equal(status.state, 'mapped')
    assert.match(status.text, /NAT-PMP/)
    const port = mapped.address.split('/')[4]!
    assert.ok(
      (await topo.run(a.router.ns, ['nft', 'list', 'table', 'inet', 'miniupnpd'])).includes(`dport ${port}`),
      'the router forwards it',
    )

    const ws = await team(R, [A, B])
    const aId = (await A.request('identity.get', {})).deviceId
    // B learns A's forwarded address from the address records R passes on, and dials it.
    await untilDirect(B, aId, 'B to reach A directly')
    const result = await crossBothWays(A, B, ws)
    const aReach = (await A.request('network.info', {})).reachability
    assert.equal(aReach.state, 'internet', `B came in through the forwarded port: ${aReach.text}`)
    // B's router forwards nothing: B says so in words, after asking both ways.
    const bStatus = await waitFor(
      "B's port mapping to give up",
      async () => {
        const s = (await B.request('network.info', {})).portMapping
        return s.state === 'asking' ? null : s
      },
      20_000,
      200,
    )
    assert.equal(bStatus.state, 'no-router')
    assert.match(bStatus.text, /UPnP and NAT-PMP/)

    await A.stop()
    assert.ok(
      !(await topo.run(a.router.ns, ['nft', 'list', 'table', 'inet', 'miniupnpd'])).includes(`dport ${port}`),
      'the forwarded port is removed when A stops',
    )
    rows.push(row("A's router speaks only NAT-PMP", 'direct (B dialled the forwarded port)', result))
  } finally {
    topo.cleanup()
  }
})
