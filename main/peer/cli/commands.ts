/**
 * CLI commands, each written against the client protocol (`PeerClient`), so they work the same
 * in-process and against a running peer over its control socket.
 */
import { readFileSync } from 'node:fs'
import { clientRequestSchemas, GrapevineError, type PeerClient } from '../../../shared/protocol.ts'
import type { DocumentSummary } from '../../../shared/types.ts'

interface CommandContext {
  client: PeerClient
  args: string[]
  opts: { workspace?: string; file?: string; ttl?: string; role?: string; json: boolean; name?: string; all: boolean }
  out: (line: string) => void
}

export class UsageError extends Error {}

const print = (ctx: CommandContext, value: unknown, human: () => string[]): void => {
  if (ctx.opts.json) ctx.out(JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2))
  else for (const line of human()) ctx.out(line)
}

const when = (ms: number | null): string => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : 'never')

function arg(ctx: CommandContext, i: number, what: string): string {
  const v = ctx.args[i]
  if (v === undefined || v === '') throw new UsageError(`missing ${what}`)
  return v
}

/** The workspace named by --workspace (id, id prefix or name), or the only one there is. */
async function workspaceId(ctx: CommandContext): Promise<string> {
  const all = await ctx.client.request('workspace.list', {})
  const want = ctx.opts.workspace
  const found = want === undefined ? all : all.filter((w) => w.id === want || w.id.startsWith(want) || w.name === want)
  if (found.length === 1) return found[0]!.id
  if (all.length === 0)
    throw new GrapevineError('not-found', 'This device is in no workspace yet: `workspace create <name>` or `join <code>`.')
  if (found.length === 0) throw new GrapevineError('not-found', `No workspace matches "${want}".`)
  throw new UsageError(`Several workspaces; choose one with --workspace (${all.map((w) => `${w.name} ${w.id.slice(0, 8)}`).join(', ')})`)
}

/** A document by id, id prefix (4+ characters) or exact title. */
async function findDoc(ctx: CommandContext, ref: string): Promise<DocumentSummary> {
  const ws = await workspaceId(ctx)
  const docs = await ctx.client.request('doc.list', { workspaceId: ws })
  const hits = docs.filter((d) => d.id === ref || (ref.length >= 4 && d.id.startsWith(ref)) || d.title === ref)
  if (hits.length === 1) return hits[0]!
  if (hits.length === 0) throw new GrapevineError('not-found', `No document "${ref}" in this workspace (see \`doc list\`).`)
  throw new UsageError(`"${ref}" matches ${hits.length} documents; use more of the id`)
}

function readInput(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`)
  }
}

function parseTtl(s: string | undefined): number | undefined {
  if (s === undefined) return undefined
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(s.trim())
  if (!m) throw new UsageError(`--ttl takes a duration like 30m, 12h or 7d, not "${s}"`)
  return Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[(m[2] ?? 's') as 's']
}

export const COMMANDS: Record<string, { usage: string; run: (ctx: CommandContext) => Promise<void> }> = {
  whoami: {
    usage: 'whoami                         this device: id, name, safety words',
    async run(ctx) {
      const me = await ctx.client.request('identity.get', {})
      print(ctx, me, () => [`${me.name}  ${me.deviceId}`, `safety words: ${me.safetyWords}`])
    },
  },
  name: {
    usage: "name <display name>            set this device's name",
    async run(ctx) {
      const me = await ctx.client.request('identity.setName', { name: arg(ctx, 0, 'name') })
      print(ctx, me, () => [`name set to ${me.name}`])
    },
  },
  'workspace create': {
    usage: 'workspace create <name>        create a workspace (you are its owner)',
    async run(ctx) {
      const ws = await ctx.client.request('workspace.create', { name: arg(ctx, 0, 'workspace name') })
      print(ctx, ws, () => [`created workspace "${ws.name}" ${ws.id}`])
    },
  },
  'workspace list': {
    usage: 'workspace list                 workspaces this device is in',
    async run(ctx) {
      const all = await ctx.client.request('workspace.list', {})
      print(ctx, all, () => (all.length ? all.map((w) => `${w.id}  ${w.name}  (${w.role}, ${w.memberCount} members)`) : ['no workspaces']))
    },
  },
  invite: {
    usage: 'invite [--ttl 24h] [--role editor|viewer|admin]   print a one-time invite code and link',
    async run(ctx) {
      const role = clientRequestSchemas['workspace.invite'].shape.role.safeParse(ctx.opts.role)
      if (!role.success) throw new UsageError(`--role is admin, editor or viewer`)
      const inv = await ctx.client.request('workspace.invite', {
        workspaceId: await workspaceId(ctx),
        ttlMs: parseTtl(ctx.opts.ttl),
        role: role.data,
      })
      print(ctx, inv, () => [inv.code, inv.link, `role ${inv.role}; expires ${when(inv.expiresAt)} UTC; works once`])
    },
  },
  join: {
    usage: 'join <code or grapevine:// link> [--name me]   join a workspace',
    async run(ctx) {
      const ws = await ctx.client.request('workspace.join', { code: arg(ctx, 0, 'invite code'), name: ctx.opts.name })
      print(ctx, ws, () => [`joined "${ws.name}" ${ws.id} as ${ws.role}`])
    },
  },
  members: {
    usage: 'members                        members of the workspace, online or last seen',
    async run(ctx) {
      const ms = await ctx.client.request('workspace.members', { workspaceId: await workspaceId(ctx) })
      print(ctx, ms, () =>
        ms.map(
          (m) =>
            `${m.self ? '*' : ' '} ${m.name.padEnd(20)} ${m.role.padEnd(7)} ${m.online ? 'online ' : 'offline'} ${m.safetyWords}  ${m.deviceId}`,
        ),
      )
    },
  },
  'doc list': {
    usage: 'doc list [--all]               documents (--all: with deleted ones)',
    async run(ctx) {
      const docs = await ctx.client.request('doc.list', { workspaceId: await workspaceId(ctx), includeDeleted: ctx.opts.all })
      print(ctx, docs, () =>
        docs.length
          ? docs.map(
              (d) =>
                `${d.id}  ${(d.title || '(untitled)').padEnd(30)} ${when(d.lastChangeAt)} ${d.lastChangeByName ?? ''}${d.deleted ? '  [deleted]' : ''}`,
            )
          : ['no documents'],
      )
    },
  },
  'doc create': {
    usage: "doc create <title> [--file F]  new document, optionally with a file's text",
    async run(ctx) {
      const text = ctx.opts.file ? readInput(ctx.opts.file) : ''
      const d = await ctx.client.request('doc.create', { workspaceId: await workspaceId(ctx), title: arg(ctx, 0, 'title'), text })
      print(ctx, d, () => [`created ${d.id}  ${d.title}`])
    },
  },
  'doc rename': {
    usage: 'doc rename <doc> <title>',
    async run(ctx) {
      const d = await ctx.client.request('doc.rename', {
        docId: (await findDoc(ctx, arg(ctx, 0, 'document'))).id,
        title: arg(ctx, 1, 'title'),
      })
      print(ctx, d, () => [`renamed ${d.id} to ${d.title}`])
    },
  },
  'doc delete': {
    usage: 'doc delete <doc>',
    async run(ctx) {
      const d = await ctx.client.request('doc.delete', { docId: (await findDoc(ctx, arg(ctx, 0, 'document'))).id })
      print(ctx, d, () => [`deleted ${d.id}  ${d.title}`])
    },
  },
  'doc write': {
    usage: "doc write <doc> <file|->       replace a document's text with a file (or stdin)",
    async run(ctx) {
      const doc = await findDoc(ctx, arg(ctx, 0, 'document'))
      const r = await ctx.client.request('doc.setText', { docId: doc.id, text: readInput(arg(ctx, 1, 'file')) })
      print(ctx, r, () => [`saved ${doc.id} (heads ${r.heads.map((h) => h.slice(0, 8)).join(',')})`])
    },
  },
  'doc print': {
    usage: "doc print <doc>                print a document's text",
    async run(ctx) {
      const r = await ctx.client.request('doc.read', { docId: (await findDoc(ctx, arg(ctx, 0, 'document'))).id })
      print(ctx, r, () => [r.text])
    },
  },
  'doc status': {
    usage: 'doc status <doc>               saved here; which teammates have it',
    async run(ctx) {
      const s = await ctx.client.request('doc.syncStatus', { docId: (await findDoc(ctx, arg(ctx, 0, 'document'))).id })
      print(ctx, s, () => [
        `saved on this device`,
        `on ${s.upToDate.length} of ${s.otherMembers} teammates`,
        ...(s.waitingChanges ? [`${s.waitingChanges} changes waiting for a teammate`] : []),
      ])
    },
  },
  peers: {
    usage: 'peers                          known peers: online, addresses, last seen and synced',
    async run(ctx) {
      const ps = await ctx.client.request('peer.list', {})
      print(ctx, ps, () =>
        ps.length
          ? ps.map(
              (p) =>
                `${p.online ? 'online ' : 'offline'} ${(p.name ?? (p.member ? '' : '(not a member)')).padEnd(16)} ${p.peerId}  seen ${when(p.lastSeen)}  synced ${when(p.lastSyncAt)}  ${p.addresses.slice(0, 2).join(' ')}`,
            )
          : ['no peers known'],
      )
    },
  },
  dial: {
    usage: 'dial <multiaddr>               connect to a peer (/ip4/…/tcp/…/p2p/…)',
    async run(ctx) {
      const p = await ctx.client.request('peer.dial', { address: arg(ctx, 0, 'address') })
      print(ctx, p, () => [`connected to ${p.peerId}${p.name ? ` (${p.name})` : ''}`])
    },
  },
  addresses: {
    usage: "addresses                      this peer's id and listen addresses",
    async run(ctx) {
      const n = await ctx.client.request('network.info', {})
      print(ctx, n, () => [n.peerId, ...n.listenAddresses, `${n.connections} connections`])
    },
  },
}
