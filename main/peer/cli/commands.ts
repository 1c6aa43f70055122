/**
 * CLI commands, each written against the client protocol (`PeerClient`), so they work the same
 * in-process and against a running peer over its control socket.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describeKeyStatus, keyStatusRisk } from '../../../shared/key-status.ts'
import { clientRequestSchemas, GrapevineError, type PeerClient } from '../../../shared/protocol.ts'
import {
  exportFiles,
  type ImportFile,
  ImportError,
  importBoard,
  importPlan,
  MANIFEST_FILE,
  importReads,
  MAX_IMPORT_FILE_BYTES,
  MAX_IMPORT_FILES,
} from '../../../shared/markdown-export.ts'
import { reachText } from '../../../shared/reach-text.ts'
import { receiptText } from '../../../shared/receipt-text.ts'
import { sessionText } from '../../../shared/history-text.ts'
import { MIN_VERSION_CHARS } from '../../../shared/limits.ts'
import { ROLES, type DocumentSummary, type InviteSummary, type JoinRequestInfo, type MemberInfo } from '../../../shared/types.ts'

export interface CommandContext {
  client: PeerClient
  args: string[]
  opts: {
    workspace?: string
    file?: string
    ttl?: string
    role?: string
    json: boolean
    name?: string
    all: boolean
    /** search --rebuild: index every document again. */
    rebuild: boolean
    /** false with --no-approval: the invite code alone admits (for scripts). */
    approve: boolean
    /** doc print --at: the version to print. */
    at?: string
    /** digest --since: from when. */
    since?: string
    /** Boards and cards (board-commands.ts). */
    columns: string[]
    assignee?: string
    due?: string
    labels?: string[]
    before?: string
    position?: string
    title?: string
    description?: string
  }
  out: (line: string) => void
}

export class UsageError extends Error {}

export const print = (ctx: CommandContext, value: unknown, human: () => string[]): void => {
  if (ctx.opts.json) ctx.out(JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2))
  else for (const line of human()) ctx.out(line)
}

export const when = (ms: number | null): string => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : 'never')
/** A time to the minute, as `when` writes it: "09:12 UTC" today, "2025-03-04 09:12 UTC" before. */
const clock = (ms: number): string => {
  const at = when(ms)
  return `${at.slice(0, 10) === when(Date.now()).slice(0, 10) ? at.slice(11, 16) : at.slice(0, 16)} UTC`
}
/** The roles that can be given (the owner's never is), for usage lines and errors. */
const GIVEN_ROLES = ROLES.filter((r) => r !== 'owner')

/** A time as typed for --since: an ISO date or time ("2026-11-30", "2026-11-30T09:00Z"), or hours ago ("12h"). */
function sinceArg(v: string): number {
  const hours = /^(\d+(?:\.\d+)?)h$/.exec(v.trim())
  const at = hours ? Date.now() - Number(hours[1]) * 3_600_000 : Date.parse(v)
  if (!Number.isFinite(at) || at < 0)
    throw new UsageError(`--since takes a date or time (2026-11-30, 2026-11-30T09:00Z) or hours ago (12h), not "${v}"`)
  return Math.floor(at)
}

/** A version as typed: a change hash or its first 6 or more hex digits. */
function versionArg(v: string): string {
  const t = v.trim().toLowerCase()
  if (!new RegExp(`^[0-9a-f]{${MIN_VERSION_CHARS},64}$`).test(t))
    throw new UsageError(`"${v}" is not a version: give one from doc history (${MIN_VERSION_CHARS} or more of its hex digits)`)
  return t
}

export function arg(ctx: CommandContext, i: number, what: string): string {
  const v = ctx.args[i]
  if (v === undefined || v === '') throw new UsageError(`missing ${what}`)
  return v
}

/** The workspace named by --workspace (id, id prefix or name), or the only one there is. */
export async function workspaceId(ctx: CommandContext): Promise<string> {
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

/** A member by device id, id prefix (6+ characters) or name (exact, else ignoring case). */
export async function findMember(ctx: CommandContext, workspaceId: string, ref: string): Promise<MemberInfo> {
  const members = await ctx.client.request('workspace.members', { workspaceId })
  const byId = members.filter((m) => m.deviceId === ref || (ref.length >= 6 && m.deviceId.startsWith(ref)))
  const byName = members.filter((m) => m.name === ref)
  const hits = byId.length ? byId : byName.length ? byName : members.filter((m) => m.name.toLowerCase() === ref.toLowerCase())
  if (hits.length === 1) return hits[0]!
  if (hits.length === 0) throw new GrapevineError('not-found', `No member "${ref}" in this workspace (see \`members\`).`)
  throw new UsageError(`"${ref}" matches ${hits.length} members; use their device id (${hits.map((m) => m.deviceId).join(', ')})`)
}

/** A join request waiting here, by id, id prefix (4+ characters) or the joiner's name. */
async function findRequest(ctx: CommandContext, ref: string): Promise<JoinRequestInfo> {
  const waiting = await ctx.client.request('join.requests', {})
  const hits = waiting.filter((r) => r.requestId === ref || (ref.length >= 4 && r.requestId.startsWith(ref)) || r.name === ref)
  if (hits.length === 1) return hits[0]!
  if (hits.length === 0)
    throw new GrapevineError('not-found', `No join request "${ref}" is waiting here (see \`requests\`; they wait on the running peer).`)
  throw new UsageError(`"${ref}" matches ${hits.length} requests; use the request id`)
}

const inviteLine = (i: InviteSummary): string =>
  `${i.id}  ${i.state.padEnd(8)} ${i.role.padEnd(6)} ${i.needsApproval ? 'approval   ' : 'no approval'}  made ${when(i.createdAt)}  ` +
  `expires ${when(i.expiresAt)}${i.by ? `  by ${i.byName ?? i.by}` : ''}`

const requestLines = (r: JoinRequestInfo): string[] => [
  `${r.requestId}  ${r.name} asks to join "${r.workspaceName}" (invite ${r.inviteId}, device ${r.deviceId})`,
  `  their safety words: ${r.safetyWords}`,
  `  compare them with what ${r.name} reads out, then \`accept ${r.requestId}\` or \`decline ${r.requestId}\``,
]

function readInput(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`)
  }
}

/** The files under `folder` (paths relative to it), Markdown and workspace.json read, others only named. */
function readFolder(folder: string): ImportFile[] {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`${folder} is not a folder`)
  const out: ImportFile[] = []
  const walk = (dir: string, depth: number): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name)
      if (e.isDirectory() && depth < 8 && !e.name.startsWith('.')) walk(path, depth + 1)
      else if (e.isFile()) {
        const rel = relative(folder, path).split('\\').join('/')
        const wanted = importReads(e.name)
        // A file far over what a document holds is not read whole to find that out.
        if (wanted && statSync(path).size > MAX_IMPORT_FILE_BYTES) throw new UsageError(`${rel} is larger than a document can be`)
        out.push({ path: rel, text: wanted ? readFileSync(path, 'utf8') : '' })
      }
      // More than an import takes: stop reading (importPlan says so).
      if (out.length > MAX_IMPORT_FILES * 2) return
    }
  }
  walk(folder, 0)
  return out
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
    usage:
      'invite [--ttl 24h] [--role editor|viewer|admin|keeper] [--no-approval]\n' +
      '                                 print a one-time invite code and link (at most 7d); a join with it waits\n' +
      '                                 for `accept` on the running peer, unless --no-approval (scripts); admin: owner only;\n' +
      "                                 keeper: an always-on device that stores and relays the workspace, encrypted, and can't read it",
    async run(ctx) {
      const role = clientRequestSchemas['workspace.invite'].shape.role.safeParse(ctx.opts.role)
      if (!role.success) throw new UsageError(`--role is ${GIVEN_ROLES.join(', ')}, not "${ctx.opts.role}"`)
      const inv = await ctx.client.request('workspace.invite', {
        workspaceId: await workspaceId(ctx),
        ttlMs: parseTtl(ctx.opts.ttl),
        role: role.data,
        approve: ctx.opts.approve,
      })
      print(ctx, inv, () => [
        inv.code,
        inv.link,
        `role ${inv.role}; expires ${when(inv.expiresAt)} UTC; works once; invite ${inv.id}`,
        inv.needsApproval
          ? "a join waits for you: compare the joiner's safety words (see `requests`), then `accept` or `decline`"
          : 'anyone holding this code can join with it (no approval)',
      ])
    },
  },
  'invite list': {
    usage: 'invite list [--all]            your open invites (--all: also used, declined, revoked, expired)',
    async run(ctx) {
      const all = await ctx.client.request('invite.list', { workspaceId: await workspaceId(ctx), includeClosed: ctx.opts.all })
      print(ctx, all, () => (all.length ? all.map(inviteLine) : [ctx.opts.all ? 'no invites' : 'no open invites']))
    },
  },
  'invite revoke': {
    usage: 'invite revoke <id>             an invite admits no one any more (a join waiting with it is refused)',
    async run(ctx) {
      const ref = arg(ctx, 0, 'invite id')
      let id = ref
      if (!/^[0-9a-f]{16}$/.test(ref)) {
        const all = await ctx.client.request('invite.list', { workspaceId: await workspaceId(ctx), includeClosed: true })
        const hits = all.filter((i) => ref.length >= 4 && i.id.startsWith(ref))
        if (hits.length === 0) throw new GrapevineError('not-found', `No invite "${ref}" (see \`invite list --all\`).`)
        if (hits.length > 1) throw new UsageError(`"${ref}" matches ${hits.length} invites; use more of the id`)
        id = hits[0]!.id
      }
      const inv = await ctx.client.request('invite.revoke', { inviteId: id })
      print(ctx, inv, () => [inv.state === 'revoked' ? `revoked invite ${inv.id}` : `invite ${inv.id} had ${inv.state}; nothing to revoke`])
    },
  },
  requests: {
    usage: 'requests                       joins waiting for your approval, with the safety words to compare',
    async run(ctx) {
      const waiting = await ctx.client.request('join.requests', {})
      print(ctx, waiting, () => (waiting.length ? waiting.flatMap(requestLines) : ['no join requests waiting']))
    },
  },
  accept: {
    usage: 'accept <request>               let a waiting joiner in (after comparing their safety words)',
    async run(ctx) {
      const r = await findRequest(ctx, arg(ctx, 0, 'request id'))
      const d = await ctx.client.request('join.decide', { requestId: r.requestId, accept: true })
      print(ctx, d, () => [`accepted ${r.name} into "${r.workspaceName}"`])
    },
  },
  decline: {
    usage: 'decline <request>              turn a waiting joiner away; their invite is used up',
    async run(ctx) {
      const r = await findRequest(ctx, arg(ctx, 0, 'request id'))
      const d = await ctx.client.request('join.decide', { requestId: r.requestId, accept: false })
      print(ctx, d, () => [`declined ${r.name}; invite ${r.inviteId} admits no one now`])
    },
  },
  join: {
    usage: 'join <code or grapevine:// link> [--name me]   join a workspace',
    async run(ctx) {
      const code = arg(ctx, 0, 'invite code')
      const details = await ctx.client.request('invite.inspect', { code })
      if (details.needsApproval && !ctx.opts.json) {
        // The inviter compares these words before accepting; the joiner checks the inviter's in return.
        ctx.out(`asking to join "${details.workspaceName}"; the inviter must accept (up to 3 minutes)`)
        ctx.out(`  read them your safety words: ${details.mySafetyWords}`)
        ctx.out(`  the inviter's safety words: ${details.inviterSafetyWords}`)
      }
      const ws = await ctx.client.request('workspace.join', { code, name: ctx.opts.name })
      print(ctx, ws, () => [`joined "${ws.name}" ${ws.id} as ${ws.role}`])
    },
  },
  leave: {
    usage: 'leave                          this device leaves the workspace (its documents stay in this profile, unlisted)',
    async run(ctx) {
      const id = await workspaceId(ctx)
      const name = (await ctx.client.request('workspace.list', {})).find((w) => w.id === id)?.name ?? id
      const r = await ctx.client.request('workspace.leave', { workspaceId: id })
      print(ctx, r, () => [
        `left "${name}" ${id}`,
        `${r.told} of ${r.teammates} teammates told now; the others when they next reach this device`,
        'its documents stay in this profile, unlisted; a new invite brings this device back',
      ])
    },
  },
  'member remove': {
    usage: 'member remove <name|id>        take a member out of the workspace (admins; not the owner)',
    async run(ctx) {
      const ws = await workspaceId(ctx)
      const m = await findMember(ctx, ws, arg(ctx, 0, 'member'))
      const r = await ctx.client.request('member.remove', { workspaceId: ws, deviceId: m.deviceId })
      const risk = keyStatusRisk(r.keys)
      print(ctx, r, () => [
        `removed ${m.name}; ${describeKeyStatus(r.keys, clock)}`,
        ...(risk ? [risk] : []),
        `${m.name}'s device (${m.deviceId}) keeps what it already had; its changes from now on are refused`,
      ])
    },
  },
  'member role': {
    usage: "member role <name|id> <admin|editor|viewer|keeper>   change a member's role (admins; making an admin: the owner)",
    async run(ctx) {
      const ref = arg(ctx, 0, 'member')
      const wanted = arg(ctx, 1, 'role')
      if (wanted === 'owner') throw new UsageError('ownership transfer is not supported: a workspace keeps the owner who created it')
      const role = clientRequestSchemas['member.setRole'].shape.role.safeParse(wanted)
      if (!role.success) throw new UsageError(`a role is ${GIVEN_ROLES.join(', ')}, not "${wanted}"`)
      const ws = await workspaceId(ctx)
      const m = await findMember(ctx, ws, ref)
      const now = await ctx.client.request('member.setRole', { workspaceId: ws, deviceId: m.deviceId, role: role.data })
      // Into or out of keeper, the key changes hands: say who has it now.
      const keyed = now.role !== m.role && (now.role === 'keeper' || m.role === 'keeper')
      const keys = keyed && !ctx.opts.json ? await ctx.client.request('workspace.keys', { workspaceId: ws }) : null
      print(ctx, now, () => [
        `${now.name} is ${now.role === m.role ? 'still' : 'now'} ${now.role}`,
        ...(keys ? [describeKeyStatus(keys, clock)] : []),
      ])
    },
  },
  members: {
    usage: 'members                        members of the workspace: role, online, whether they have the current key',
    async run(ctx) {
      const ws = await workspaceId(ctx)
      const ms = await ctx.client.request('workspace.members', { workspaceId: ws })
      const keys = ctx.opts.json ? null : await ctx.client.request('workspace.keys', { workspaceId: ws })
      print(ctx, ms, () => [
        ...ms.map(
          (m) =>
            `${m.self ? '*' : ' '} ${m.name.padEnd(20)} ${m.role.padEnd(7)} ${m.online ? 'online ' : 'offline'} ` +
            `key: ${m.key.padEnd(7)} ${m.safetyWords}  ${m.deviceId}`,
        ),
        ...(keys ? [describeKeyStatus(keys, clock)] : []),
      ])
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
                `${d.id}  ${(d.title || '(untitled)').padEnd(30)} ${when(d.lastChangeAt)} ${d.lastChangeByName ?? ''}${d.kind === 'board' ? '  [board]' : ''}${d.deleted ? '  [deleted]' : ''}`,
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
    usage: "doc print <doc> [--at V]       print a document's text (--at: as it was at version V, see doc history)",
    async run(ctx) {
      const docId = (await findDoc(ctx, arg(ctx, 0, 'document'))).id
      if (ctx.opts.at !== undefined) {
        const v = await ctx.client.request('doc.version', { docId, version: versionArg(ctx.opts.at) })
        print(ctx, v, () => [v.text])
        return
      }
      const r = await ctx.client.request('doc.read', { docId })
      print(ctx, r, () => [r.text])
    },
  },
  'doc history': {
    usage: "doc history <doc>              a document's editing sessions, latest first: version, when, who, +/− characters",
    async run(ctx) {
      const docId = (await findDoc(ctx, arg(ctx, 0, 'document'))).id
      const h = await ctx.client.request('doc.history', { docId })
      print(ctx, h, () => [
        ...h.sessions.map((s) => `${s.version.slice(0, 10)}  ${sessionText(s, clock, 0)}`),
        ...(h.more ? [`(older sessions not shown: ${h.sessions.length} listed)`] : []),
        ...(h.sessions.length ? [] : ['no history here yet']),
      ])
    },
  },
  'doc restore': {
    usage: 'doc restore <doc> <version>    make the title and text those of a version again (a new change everyone receives)',
    async run(ctx) {
      const docId = (await findDoc(ctx, arg(ctx, 0, 'document'))).id
      const version = versionArg(arg(ctx, 1, 'version'))
      const v = await ctx.client.request('doc.version', { docId, version })
      const r = await ctx.client.request('doc.restore', { docId, version: v.version })
      const of = v.session ? ` (${v.session.own ? 'yours' : `${v.session.authorName}'s`}, ${clock(v.session.endedAt)})` : ''
      print(ctx, { ...r, version: v.version }, () => [`restored "${v.title}" to version ${v.version.slice(0, 10)}${of}`])
    },
  },
  digest: {
    usage:
      'digest [--since T]             while you were away: who changed which documents and how much, passages edited concurrently, new members',
    async run(ctx) {
      const ws = await workspaceId(ctx)
      const since = ctx.opts.since === undefined ? undefined : sinceArg(ctx.opts.since)
      const d = await ctx.client.request('workspace.digest', { workspaceId: ws, since })
      print(ctx, d, () => {
        if (d.documents.length === 0 && d.members.length === 0) return [`nothing new since ${clock(d.since)}`]
        const lines = [`since ${clock(d.since)}:`]
        for (const doc of d.documents) {
          const what = doc.authors.map((a) => `${a.name} +${a.inserted} −${a.deleted}`).join(', ')
          const tags = [doc.created ? 'new' : '', doc.deleted ? 'deleted' : ''].filter(Boolean).join(', ')
          lines.push(`  "${doc.title || 'Untitled'}"${tags ? ` (${tags})` : ''}${what ? `: ${what}` : ''}`)
          for (const p of doc.passages)
            lines.push(`    edited at the same time by ${p.authors.join(' and ')}: ${JSON.stringify(p.excerpt)}`)
          if (!doc.compared) lines.push('    (too many changes to look for passages edited at the same time)')
        }
        for (const m of d.members) lines.push(`  ${m.name} joined as ${m.role} (${clock(m.addedAt)})`)
        return lines
      })
    },
  },
  'doc status': {
    usage: 'doc status <doc>               saved here; which teammates have it, and which of your edits each has',
    async run(ctx) {
      const s = await ctx.client.request('doc.syncStatus', { docId: (await findDoc(ctx, arg(ctx, 0, 'document'))).id })
      print(ctx, s, () => [
        `saved on this device`,
        `on ${s.upToDate.length} of ${s.otherMembers} teammates`,
        ...(s.waitingChanges ? [`${s.waitingChanges} changes waiting for a teammate`] : []),
        ...s.receipts.map((r) => `  ${receiptText(r, s.lastOwnEditAt, clock)}`),
      ])
    },
  },
  peers: {
    usage: 'peers                          known peers: how each is reached, round trip, last seen and synced, what it lacks',
    async run(ctx) {
      const ps = await ctx.client.request('peer.list', {})
      print(ctx, ps, () =>
        ps.length
          ? ps.flatMap((p) => [
              `${p.online ? 'online ' : 'offline'} ${(p.name ?? (p.member ? '' : '(not a member)')).padEnd(16)} ${p.peerId}  ${reachText(p)}` +
                `  seen ${when(p.lastSeen)}  synced ${when(p.lastSyncAt)}`,
              ...(p.unreachable ? [`        ${p.unreachable}`] : []),
              ...(p.behindCount
                ? [
                    `        lacks ${p.behindCount} document${p.behindCount === 1 ? '' : 's'}: ${p.behind.map((d) => d.title || 'Untitled').join(', ')}`,
                  ]
                : []),
            ])
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
  search: {
    usage:
      'search <words> [--workspace W]  documents with all these words (prefixes too), best first, with the words around the hit;\n' +
      '                                 every workspace unless --workspace; --rebuild indexes every document again',
    async run(ctx) {
      if (ctx.opts.rebuild) {
        const r = await ctx.client.request('search.rebuild', {})
        print(ctx, r, () => [`indexed ${r.documents} document${r.documents === 1 ? '' : 's'}`])
        return
      }
      const query = ctx.args.join(' ').trim()
      if (!query) throw new UsageError('missing words to search for')
      const scope = ctx.opts.workspace === undefined ? undefined : await workspaceId(ctx)
      const hits = await ctx.client.request('search.query', { query, ...(scope ? { workspaceId: scope } : {}) })
      const names = new Map((await ctx.client.request('workspace.list', {})).map((w) => [w.id, w.name]))
      print(ctx, hits, () =>
        hits.length
          ? hits.flatMap((h) => [
              `${h.title || 'Untitled'}  ${h.docId}  in ${names.get(h.workspaceId) ?? h.workspaceId}${h.at === null ? '  (title)' : `  at ${h.at}`}`,
              `  ${h.parts
                .map((p) => (p.hit ? `[${p.text}]` : p.text))
                .join('')
                .replace(/\s+/g, ' ')
                .trim()}`,
            ])
          : [`nothing found for "${query}"`],
      )
    },
  },
  export: {
    usage:
      'export <folder> [--workspace W] the workspace as a folder: a Markdown file per document and workspace.json\n' +
      '                                 (titles, dates; boards); nothing in the folder is overwritten',
    async run(ctx) {
      const folder = resolve(arg(ctx, 0, 'folder'))
      const wsId = await workspaceId(ctx)
      const ws = (await ctx.client.request('workspace.list', {})).find((w) => w.id === wsId)!
      const rows = await ctx.client.request('doc.list', { workspaceId: wsId })
      const docs = []
      for (const r of rows) {
        const d = await ctx.client.request('doc.read', { docId: r.id })
        // A board goes into workspace.json, whole (its text is only a rendering).
        const board = r.kind === 'board' ? await ctx.client.request('board.read', { docId: r.id }) : undefined
        docs.push({ id: r.id, title: d.title, text: d.text, createdAt: r.createdAt, lastChangeAt: r.lastChangeAt, board })
      }
      const files = exportFiles({ id: ws.id, name: ws.name }, docs)
      const clash = files.find((f) => existsSync(join(folder, f.path)))
      if (clash) throw new UsageError(`${join(folder, clash.path)} exists already: export into an empty or new folder`)
      mkdirSync(folder, { recursive: true })
      for (const f of files) writeFileSync(join(folder, f.path), f.text, { flag: 'wx' })
      const result = { folder, documents: docs.length, files: files.map((f) => f.path) }
      print(ctx, result, () => [`exported ${docs.length} document${docs.length === 1 ? '' : 's'} of "${ws.name}" to ${folder}`])
    },
  },
  import: {
    usage:
      'import <folder> [--workspace W] a document for every Markdown file in the folder (and its subfolders); an\n' +
      "                                 exported folder's titles come from its workspace.json",
    async run(ctx) {
      const folder = resolve(arg(ctx, 0, 'folder'))
      const wsId = await workspaceId(ctx)
      let plan: ReturnType<typeof importPlan>
      try {
        plan = importPlan(readFolder(folder))
      } catch (err) {
        if (err instanceof ImportError) throw new UsageError(err.message)
        throw err
      }
      const created: { id: string; title: string; file: string }[] = []
      for (const item of plan.items) {
        const d = await ctx.client.request('doc.create', { workspaceId: wsId, title: item.title, text: item.text })
        created.push({ id: d.id, title: d.title, file: item.file })
        if (!ctx.opts.json) ctx.out(`imported ${created.length}/${plan.items.length}  ${item.file}`)
      }
      // Boards, from an exported folder's workspace.json.
      for (const b of plan.boards) {
        created.push({ id: await importBoard(ctx.client, wsId, b), title: b.title, file: MANIFEST_FILE })
        if (!ctx.opts.json) ctx.out(`imported board ${b.title}`)
      }
      print(ctx, { created, skipped: plan.skipped }, () => [
        `imported ${created.length} document${created.length === 1 ? '' : 's'}`,
        ...(plan.skipped.length ? [`left out (not Markdown): ${plan.skipped.join(', ')}`] : []),
      ])
    },
  },
  addresses: {
    usage: "addresses                      this peer's id and listen addresses",
    async run(ctx) {
      const n = await ctx.client.request('network.info', {})
      print(ctx, n, () => [n.peerId, ...n.listenAddresses, `${n.connections} connections`, n.reachability.text, n.portMapping.text])
    },
  },
}
