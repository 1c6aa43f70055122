/**
 * Floods by strangers, on 127.0.0.1, bounded in count and time; the strangers run in child processes.
 *
 * 1. One stranger opens 500 connections (libp2p dials and raw sockets that never speak) and floods the
 *    join protocol: two teammates stay connected, and edits cross both ways within a bound throughout.
 * 2. Strangers with many PeerIds flood junk streams (catch-up, join; junk and silent) and junk gossip
 *    for ~20 s at a victim in its own process: the victim's heap (after a full GC, in its process)
 *    returns to within a margin of its baseline within a minute after the flood, a teammate's edits
 *    still cross meanwhile, and its log carries counts per kind and source, not a line per junk message.
 *
 * Bigger floods: GRAPEVINE_FLOOD_CONNECTIONS (500), GRAPEVINE_FLOOD_NODES (100), GRAPEVINE_FLOOD_SECONDS (20).
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Peer } from '../peer.ts'
import { formWorkspace, median, startPeer, tempDir, waitFor } from './helpers.ts'
import { stopAll, type Dir } from './attacker.ts'
import { DEFAULT_PEER_LIMITS, REFUSAL_SOURCES_LOGGED } from '../net/limits.ts'
import { JOIN_PROTOCOL } from '../wire/peer-protocol.ts'

const ATTACKER = fileURLToPath(new URL('./flood-attacker-child.ts', import.meta.url))
const VICTIM = fileURLToPath(new URL('./flood-victim-child.ts', import.meta.url))
const envNumber = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback)
  if (!(v > 0)) throw new Error(`${name} must be a positive number`)
  return v
}
const CONNECTIONS = envNumber('GRAPEVINE_FLOOD_CONNECTIONS', 500)
const NODES = envNumber('GRAPEVINE_FLOOD_NODES', 100)
const SECONDS = envNumber('GRAPEVINE_FLOOD_SECONDS', 20)
/** An edit must cross within this long while a flood runs (it takes milliseconds otherwise). */
const EDIT_BOUND_MS = 3_000
/** The same for a victim in its own process, asked over a pipe, on a machine also running the strangers' processes. */
const CHILD_EDIT_BOUND_MS = 5_000
const MiB = 1024 * 1024

/** A child process speaking one JSON line per answer on stdout. */
interface Child {
  next<T>(what: string, timeoutMs?: number): Promise<T>
  ask<T>(command: string): Promise<T>
  exited: Promise<number | null>
  kill(): void
}

function child(args: string[]): Child {
  const proc: ChildProcessByStdio<Writable, Readable, null> = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] })
  const queue: string[] = []
  const waiting: ((line: string) => void)[] = []
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const w = waiting.shift()
    if (w) w(line)
    else queue.push(line)
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const next = async <T>(what: string, timeoutMs = 60_000): Promise<T> => {
    const line =
      queue.shift() ??
      (await Promise.race([
        new Promise<string>((resolve) => waiting.push(resolve)),
        exited.then((code) => Promise.reject(new Error(`the child exited (${code}) before ${what}`))),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs).unref()),
      ]))
    return JSON.parse(line) as T
  }
  return {
    next,
    ask: <T>(command: string) => {
      proc.stdin.write(`${command}\n`)
      return next<T>(command)
    },
    exited,
    kill: () => proc.kill('SIGKILL'),
  }
}

interface AttackStats {
  nodes: number
  dials: number
  dialFailures: number
  connectionsOpened: number
  rawSockets: number
  published: number
  streams: number
  streamFailures: number
  maxOpen: number
}

/** The victim's log: lines per level, and per kind (a message up to its first peer id or digit, level first). */
interface VictimLog {
  lines: Record<string, number>
  kinds: Record<string, number>
}

const dirs: Dir[] = []
const peers: Peer[] = []
const children: Child[] = []
after(async () => {
  for (const c of children) c.kill()
  await stopAll(peers, dirs)
})

/** Edits on `from`, waits until `to` has the text; the time it took. */
async function editCrosses(from: Peer, to: Peer, docId: string, text: string): Promise<number> {
  const t0 = performance.now()
  await from.connect().request('doc.setText', { docId, text })
  const tc = to.connect()
  await waitFor(`"${text}" to cross`, async () => (await tc.request('doc.read', { docId })).text === text, EDIT_BOUND_MS, 10)
  return performance.now() - t0
}

test(`a stranger opening ${CONNECTIONS} connections and flooding the join protocol: teammates stay connected and keep editing`, async () => {
  dirs.push(tempDir(), tempDir(), tempDir())
  const [ana, ben] = await Promise.all(['Ana', 'Ben'].map((name, i) => startPeer(dirs[i]!.path, { name })))
  peers.push(ana!, ben!)
  const ws = await formWorkspace(ana!, [ben!])
  const docId = (await ana!.connect().request('doc.create', { workspaceId: ws, title: 'Plan', text: 'start' })).id
  await waitFor('the document to reach Ben', async () => (await ben!.connect().request('doc.list', { workspaceId: ws })).length === 1)
  let teammateDisconnects = 0
  ana!.node.addEventListener('peer:disconnect', (e) => {
    if (e.detail.equals(ben!.node.peerId)) teammateDisconnects++
  })

  const seconds = 10
  const attacker = child([ATTACKER, ana!.node.getMultiaddrs()[0]!.toString(), ws, 'connections', String(CONNECTIONS), String(seconds)])
  children.push(attacker)
  let done = false
  const result = attacker.next<AttackStats>('the attack to end', (seconds + 30) * 1000).finally(() => {
    done = true
  })
  // How many connections the stranger holds at Ana at once, as Ana sees them.
  let strangerConns = 0
  const sampler = setInterval(() => {
    const n = ana!.node.getConnections().filter((c) => !c.remotePeer.equals(ben!.node.peerId)).length
    strangerConns = Math.max(strangerConns, n)
  }, 25)
  const latencies: number[] = []
  for (let k = 0; !done; k++) {
    const [from, to] = k % 2 ? [ana!, ben!] : [ben!, ana!]
    latencies.push(await editCrosses(from, to, docId, `edit ${k} during the flood`))
    await new Promise((r) => setTimeout(r, 200))
  }
  const attack = await result
  clearInterval(sampler)
  const limits = ana!.stats().limits
  console.log(
    `flood: ${attack.dials} libp2p dials (${attack.connectionsOpened} opened, at most ${attack.maxOpen} open at once) and ` +
      `${attack.rawSockets} raw sockets; ${attack.streams} join streams; the victim held at most ${strangerConns} of its connections ` +
      `at once, refused ${limits.connectionsRefused} after the handshake (the rest before) ` +
      `and ${limits.streamsRefused} streams, timed out ${limits.streamsTimedOut}; ${latencies.length} edits crossed, ` +
      `median ${median(latencies).toFixed(0)} ms, worst ${Math.max(...latencies).toFixed(0)} ms`,
  )
  assert.equal(attack.dials + attack.rawSockets, CONNECTIONS, 'the stranger opened every connection it was to')
  assert.ok(attack.streams > 100, 'the stranger flooded the join protocol')
  assert.ok(strangerConns <= DEFAULT_PEER_LIMITS.maxConnectionsPerStranger, `one stranger held ${strangerConns} connections at once`)
  assert.ok(limits.streamsRefused > 0, 'no join stream was refused: the flood did not reach the limits')
  assert.ok(latencies.length >= 10, 'too few edits during the flood')
  assert.equal(teammateDisconnects, 0, 'a teammate was disconnected during the flood')
  assert.ok(
    ana!.node.getConnections(ben!.node.peerId).some((c) => c.status === 'open'),
    'the teammates are no longer connected',
  )

  // After the flood, a newcomer with an invite still gets in.
  const cleo = await startPeer(dirs[2]!.path, { name: 'Cleo' })
  peers.push(cleo)
  const invite = await ana!.connect().request('workspace.invite', { workspaceId: ws, approve: false })
  await cleo.connect().request('workspace.join', { code: invite.code })
})

test(`${NODES} strangers flooding junk streams and gossip for ${SECONDS} s: memory returns to its baseline, the log counts`, async () => {
  const victimDir = tempDir()
  const teamDir = tempDir()
  dirs.push(victimDir, teamDir)
  const victim = child(['--expose-gc', VICTIM, victimDir.path])
  children.push(victim)
  const { addr, ws, docId, invite } = await victim.next<{ addr: string; ws: string; docId: string; invite: string }>('the victim to start')
  const ben = await startPeer(teamDir.path, { name: 'Ben' })
  peers.push(ben)
  const bc = ben.connect()
  await bc.request('workspace.join', { code: invite })
  await waitFor('the document to reach Ben', async () => (await bc.request('doc.list', { workspaceId: ws })).length === 1)
  /** Ben edits; the victim has it within the bound. */
  const crosses = async (text: string): Promise<number> => {
    const t0 = performance.now()
    await bc.request('doc.setText', { docId, text })
    await waitFor(
      `"${text}" to reach the victim`,
      async () => (await victim.ask<{ text: string }>('text')).text === text,
      CHILD_EDIT_BOUND_MS,
      20,
    )
    return performance.now() - t0
  }
  for (let k = 0; k < 5; k++) await crosses(`warm-up ${k}`)
  await new Promise((r) => setTimeout(r, 2_000))
  /** What the victim holds after a full GC: its JS heap plus buffers outside it (sockets, streams). */
  const mem = async (): Promise<{ held: number; rss: number }> => {
    const m = await victim.ask<{ heapUsed: number; external: number; rss: number }>('mem')
    return { held: m.heapUsed + m.external, rss: m.rss }
  }
  const baseline = await mem()
  const logBefore = await victim.ask<VictimLog>('log')
  const floodStarted = performance.now()

  const perChild = Math.ceil(NODES / 2)
  const attackers = [perChild, NODES - perChild].map((n) => child([ATTACKER, addr, ws, 'many', String(n), String(SECONDS)]))
  children.push(...attackers)
  let done = false
  const results = Promise.all(attackers.map((a) => a.next<AttackStats>('the attack to end', (SECONDS + 120) * 1000))).finally(() => {
    done = true
  })
  let peak = baseline
  const latencies: number[] = []
  for (let k = 0; !done; k++) {
    latencies.push(await crosses(`edit ${k} during the flood`))
    const m = await mem()
    if (m.held > peak.held) peak = m
    await new Promise((r) => setTimeout(r, 1_000))
  }
  const attacks = await results
  const ended = performance.now()
  // Within a minute after the flood, what the victim holds is back within the margin (polled; the first that is, counts).
  const margin = Math.max(8 * MiB, baseline.held * 0.2)
  let after = await mem()
  while (after.held > baseline.held + margin && performance.now() - ended < 60_000) {
    await new Promise((r) => setTimeout(r, 5_000))
    after = await mem()
  }
  const recoveredIn = performance.now() - ended
  latencies.push(await crosses('after the flood'))
  const log = await victim.ask<VictimLog>('log')
  const stats = await victim.ask<{
    gossip: { rejected: Record<string, number> }
    limits: Record<string, number>
    gate: { refused: Record<string, number> }
  }>('stats')
  const total = (a: keyof AttackStats): number => attacks.reduce((n, s) => n + s[a], 0)
  const junk = total('published') + total('streams')
  const lines = (kinds: Record<string, number>, prefix = ''): number =>
    Object.entries(kinds)
      .filter(([k]) => !k.startsWith('debug') && k.startsWith(prefix))
      .reduce((n, [, c]) => n + c, 0)
  const since = (prefix = ''): number => lines(log.kinds, prefix) - lines(logBefore.kinds, prefix)
  // What the log may hold, whatever the amount of junk: per 10 s summary interval, a line for each of the
  // first (kind, source) pairs a tally tracks (the limits' 32; gossip's up to 256, one per stranger, whose
  // gossip is only ever not-member) and a summary each; and the join handler's own line for each junk
  // request that the strangers' rate limit let through.
  const elapsed = performance.now() - floodStarted
  const intervals = Math.ceil(elapsed / 10_000) + 1
  const join = DEFAULT_PEER_LIMITS.streams[JOIN_PROTOCOL]!
  const bounds: [string, number][] = [
    ['warn refused (', intervals * REFUSAL_SOURCES_LOGGED],
    ['warn gossip rejected (', intervals * Math.min(256, NODES)],
    ['warn join request from ', Math.ceil(join.strangersBurst + (join.strangersPerSecond * elapsed) / 1000)],
    ['warn refused in the last', intervals],
    ['warn gossip rejected in the last', intervals],
  ]
  const other = since() - bounds.reduce((n, [prefix]) => n + since(prefix), 0)
  console.log(
    `flood of ${total('nodes')} strangers for ${SECONDS} s: ${total('dials')} dials (${total('dialFailures')} refused), ` +
      `${total('published')} junk messages, ${total('streams')} junk streams (${total('streamFailures')} failed); ` +
      `victim's heap + buffers ${(baseline.held / MiB).toFixed(1)} → peak ${(peak.held / MiB).toFixed(1)} → ` +
      `${(after.held / MiB).toFixed(1)} MiB ${(recoveredIn / 1000).toFixed(0)} s after (RSS ${(baseline.rss / MiB).toFixed(0)} → ` +
      `${(peak.rss / MiB).toFixed(0)} → ${(after.rss / MiB).toFixed(0)} MiB); ${since()} log lines (info and up) for ${junk} junk: ` +
      `${JSON.stringify(Object.fromEntries(bounds.map(([p, b]) => [p.trim(), `${since(p)} of at most ${b}`])))}, ${other} other; ` +
      `edits crossed ${latencies.length}×, worst ${Math.max(...latencies).toFixed(0)} ms; ` +
      `refused: ${JSON.stringify({ gossip: stats.gossip.rejected, limits: stats.limits, gate: stats.gate.refused })}`,
  )
  assert.equal(total('nodes'), NODES)
  assert.ok(junk > 1_000, `the flood was too small to say anything (${junk} junk messages and streams)`)
  assert.ok(
    after.held <= baseline.held + margin,
    `the victim holds ${((after.held - baseline.held) / MiB).toFixed(1)} MiB more than before`,
  )
  for (const [prefix, bound] of bounds)
    assert.ok(since(prefix) <= bound, `${since(prefix)} log lines "${prefix}…" (at most ${bound} expected)`)
  assert.ok(other <= 20, `${other} other log lines`)
  assert.ok(since('warn refused in the last') + since('warn gossip rejected in the last') > 0, 'refusals were not summarised')
  assert.ok(latencies.length >= 5, 'too few edits during the flood')
})
