#!/usr/bin/env node
/**
 * grapevine-peer: the headless peer. `run` keeps a peer online and serves the profile's control
 * socket; every other command talks to that running peer, or, when none runs, opens the profile
 * itself for the length of the command.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import { consoleLog, type LogLevel } from '../log.ts'
import { StoreError } from '../store/errors.ts'
import { survivesUncaught } from '../net/failure.ts'
import { profileOwner } from '../store/profile-lock.ts'
import { connectControlSocket, serveControlSocket } from '../api/socket-transport.ts'
import type { UiServer } from '../api/ui-server.ts'
import { UsageError } from './commands.ts'
import { ALL_COMMANDS, commandFor, EXIT, exitCodeFor, parseCommandLine } from './args.ts'

function defaultProfile(): string {
  if (process.env['GRAPEVINE_PROFILE']) return process.env['GRAPEVINE_PROFILE']
  const base =
    process.platform === 'win32'
      ? (process.env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'))
      : process.platform === 'darwin'
        ? join(homedir(), 'Library', 'Application Support')
        : (process.env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'))
  return join(base, 'Grapevine', 'peer')
}

const HELP = `grapevine-peer <command> [options]

  run [--ui] [--ui-port N]       keep a peer online (logs what it does; Ctrl-C stops it);
                                 --ui also serves the app to a browser on 127.0.0.1 (prints the URL)
${Object.values(ALL_COMMANDS)
  .map((c) => `  ${c.usage}`)
  .join('\n')}

Options:
  --profile DIR      profile directory (default ${defaultProfile()}, or $GRAPEVINE_PROFILE)
  --host ADDR        interface to listen on (default 0.0.0.0; 127.0.0.1 keeps it on this machine)
  --port N           TCP port (default: the one this profile used last)
  --no-mdns          do not look for teammates on the LAN
  --connect ADDR     dial this peer at start (repeatable)
  --relay ADDR       keep a slot on this relay and tell teammates to reach you through it (repeatable)
  --serve-relay M    relay for teammates (members only): auto (when this peer has a public address), on, off
  --no-port-mapping  do not ask the LAN's router (UPnP) to forward this peer's port to it
  --workspace W      workspace id, id prefix or name (when there are several)
  --name NAME        your display name (first run, and join)
  --no-approval      invite: the code alone admits (scripts); by default a join waits for \`accept\`
  --all              doc list, invite list: also deleted documents, closed invites
  --at V             doc print: the document as it was at version V (from doc history)
  --since T          digest: from a date or time (2026-11-30, 2026-11-30T09:00Z) or hours ago (12h)
  --column C         board create: a column (repeatable; default To do, Doing, Done); card add: the column
  --assignee M       card add/edit: a member (name or device id); card edit: none to unassign
  --due YYYY-MM-DD   card add/edit: the due date; card edit: none to clear
  --label L          card add/edit: a label (repeatable); card edit: the labels, all of them (none: no labels)
  --before CARD      card add/move: put it before this card
  --position N       card add/move, column add: put it at place N (1 is the top, or the leftmost)
  --title T, --description D   card edit (card add: --description)
  --json             machine-readable output
  --wait SECONDS     one-shot commands: time to reach teammates before exiting (default 3)
  --log-level L      debug, info, warn, error (run: info; others: warn)
Exit codes: 0 ok, 1 error (also a conflict, such as removing the owner), 2 usage, 3 not found, 4 invite refused, 5 unreachable, 6 profile locked or damaged, 7 forbidden.`

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv)
  if (values.help || positionals.length === 0) {
    console.log(HELP)
    return values.help ? EXIT.ok : EXIT.usage
  }
  const profileDir = resolve(values.profile ?? defaultProfile())
  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new UsageError(`--port takes 0–65535`)
  const isRun = positionals[0] === 'run'
  const level = (values['log-level'] ?? (isRun ? 'info' : 'warn')) as LogLevel
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError('--log-level is debug, info, warn or error')
  const log = consoleLog(level)
  const serveRelay = values['serve-relay'] ?? 'auto'
  if (serveRelay !== 'auto' && serveRelay !== 'on' && serveRelay !== 'off') throw new UsageError('--serve-relay is auto, on or off')
  // The peer (libp2p, SQLite, Automerge: most of a command's start-up time) loads only when this process runs one;
  // a command answered by the running peer over its control socket does not need it.
  const start = async (): Promise<Peer> =>
    (await import('../peer.ts')).createPeer({
      profileDir,
      host: values.host ?? '0.0.0.0',
      port,
      mdns: values['no-mdns'] ? false : (values.mdns ?? true),
      bootstrap: values.connect ?? [],
      relay: serveRelay,
      relays: values.relay ?? [],
      portMapping: !values['no-port-mapping'],
      name: values.name,
      log,
    })

  if (isRun) {
    // Node's default for an error thrown outside any call, except libp2p's use of a closed stream (net/failure.ts).
    process.on('uncaughtException', (err) => {
      if (survivesUncaught(err, log)) return
      process.stderr.write(`grapevine-peer: ${err.stack ?? err.message}\n`)
      process.exit(EXIT.error)
    })
    const peer = await start()
    const server = await serveControlSocket(peer, profileDir, log)
    const own = peer.connect()
    const me = await own.request('identity.get', {})
    console.log(`Grapevine peer ${me.name} ${me.deviceId}`)
    console.log(`safety words: ${me.safetyWords}`)
    // Joins wait for a person here: say who asks, with the words to compare, and how to answer.
    own.onEvent((e) => {
      if (e.type !== 'join.request') return
      const r = e.request
      console.log(`join request ${r.requestId}: ${r.name} asks to join "${r.workspaceName}" (device ${r.deviceId})`)
      console.log(`  their safety words: ${r.safetyWords}`)
      console.log(`  compare them with what ${r.name} reads out, then: grapevine-peer accept ${r.requestId} (or decline)`)
    })
    let ui: UiServer | null = null
    if (values.ui) {
      try {
        const { profileUiSettings, saveUiSettings, startUiServer } = await import('../api/ui-server.ts')
        const saved = profileUiSettings(profileDir)
        const wanted = values['ui-port'] ? Number(values['ui-port']) : saved.port
        ui = await startUiServer(peer, log, { port: wanted, token: saved.token }).catch((err: Error) => {
          if (values['ui-port'] || wanted === 0) throw err
          log('warn', `UI port ${wanted} is taken (${err.message}); using a new one`)
          return startUiServer(peer, log, { port: 0, token: saved.token })
        })
        saveUiSettings(profileDir, { token: ui.token, port: ui.port })
        console.log(`open ${ui.url}`)
      } catch (err) {
        server.close()
        await peer.stop()
        throw err
      }
    }
    for (const a of peer.node.getMultiaddrs()) console.log(`listening on ${a}`)
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        server.close()
        void Promise.resolve(ui?.close())
          .then(() => peer.stop())
          .then(done, done)
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
    return EXIT.ok
  }

  const { name, command, args, opts } = commandFor(positionals, values)
  const out = (line: string): void => void process.stdout.write(line.endsWith('\n') ? line : `${line}\n`)

  if (profileOwner(profileDir) !== null) {
    let client: PeerClient & { close(): void }
    try {
      client = await connectControlSocket(profileDir)
    } catch (err) {
      throw new StoreError(
        'locked',
        profileDir,
        `Profile ${profileDir} is held by a running peer (pid ${profileOwner(profileDir)}) whose control socket does not answer: ${(err as Error).message}`,
      )
    }
    try {
      await command.run({ client, args, opts, out })
    } finally {
      client.close()
    }
    return EXIT.ok
  }

  const peer = await start()
  try {
    // No peer is running on this profile: reach teammates first, so that reads see their latest
    // work, then run the command, then give them what it changed.
    const waitMs = Number(values.wait ?? 3) * 1000
    if (!(waitMs >= 0)) throw new UsageError('--wait takes a number of seconds')
    const syncBriefly = async (): Promise<void> => {
      // A device alone in its workspaces has nobody to wait for.
      const all = await peer.connect().request('workspace.list', {})
      if (all.every((w) => w.memberCount <= 1)) return
      const deadline = Date.now() + waitMs
      while (Date.now() < deadline && peer.node.getPeers().length === 0) await new Promise((r) => setTimeout(r, 100))
      if (peer.node.getPeers().length > 0) await Promise.race([peer.syncNow(), new Promise((r) => setTimeout(r, Math.max(waitMs, 2000)))])
    }
    if (name !== 'join' && name !== 'workspace create') await syncBriefly()
    await command.run({ client: peer.connect(), args, opts, out })
    const readOnly = [
      'whoami',
      'workspace list',
      'doc list',
      'doc print',
      'doc status',
      'peers',
      'addresses',
      'members',
      'invite list',
      'requests',
      'search',
      'export',
      'board list',
      'card list',
      'tasks',
    ]
    if (!readOnly.includes(name)) await syncBriefly()
  } finally {
    await peer.stop()
  }
  return EXIT.ok
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const code = exitCodeFor(err)
    process.stderr.write(`grapevine-peer: ${(err as Error).message ?? String(err)}\n`)
    if (code === EXIT.error && process.env['GRAPEVINE_DEBUG']) console.error(err)
    process.exit(code)
  },
)
