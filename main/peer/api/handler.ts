/**
 * The client protocol, served: validates each request against its schema in shared/, then calls
 * the part of the peer that does the work. Every failure becomes a `GrapevineError` with a code.
 */
import {
  clientRequestSchemas,
  GrapevineError,
  isTooLarge,
  type ClientMethod,
  type ClientResults,
  type ValidClientParams,
} from '../../../shared/protocol.ts'
import {
  ADMIN_ROLES,
  READER_ROLES,
  type DocSyncStatus,
  type DocumentSummary,
  type HistorySession,
  type KeyStatus,
  type MemberInfo,
  type PeerInfo,
  type Receipt,
  type WorkspaceInfo,
} from '../../../shared/types.ts'
import { MAX_BEHIND_LISTED, MAX_HISTORY_SESSIONS } from '../../../shared/limits.ts'
import { deviceName, newActorId, setDeviceName, type Device } from '../identity/device.ts'
import { fingerprintText } from '../identity/words.ts'
import { devicePublicKey } from '../identity/keys.ts'
import type { PeerStore, DocumentRow, HistorySessionRow } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import type { Joining } from '../workspace/join.ts'
import type { Documents } from '../sync/documents.ts'
import type { Connections } from '../net/connections.ts'
import type { GrapevineNode } from '../net/node.ts'
import type { PortMappingStatus } from '../net/port-mapping.ts'
import type { ReachabilityStatus } from '../net/reachability.ts'
import { setTitle } from '../sync/doc-content.ts'
import type { Presence } from '../sync/presence.ts'
import type { SearchIndex } from '../sync/search-index.ts'
import type { HistoryIndex } from '../sync/history-index.ts'
import { readVersion } from '../sync/version-read.ts'
import { workspaceDigest } from '../sync/digest.ts'
import { Boards } from '../sync/boards.ts'
import { decodeInvite } from '../workspace/invites.ts'
import { heads, makeOp, replayOps, verifyOp, type Member, type MembershipState, type VerifiedOp } from '../workspace/membership.ts'

/** What this device signs to change a workspace's membership. */
type MembershipChange = Parameters<typeof makeOp>[2]

/** Meta key marking a workspace this device left: its leave is handed to former teammates as they connect. */
export const leftMetaKey = (workspaceId: string): string => `left:${workspaceId}`

/** One connected client (a window, the CLI); it holds documents open and receives their changes. */
export interface ClientSession {
  readonly openDocs: Set<string>
  /** 'open-docs': told only of its open documents' events (`session.configure`). */
  events: 'all' | 'open-docs'
}

interface ApiContext {
  device: Device
  store: PeerStore
  node: GrapevineNode
  workspaces: Workspaces
  keys: EpochKeys
  documents: Documents
  joining: Joining
  connections: Connections
  presence: Presence
  /** Full-text search over the documents this device reads. */
  search: Pick<SearchIndex, 'search' | 'rebuild'>
  /** Documents' timelines of editing sessions. */
  history: Pick<HistoryIndex, 'sessions' | 'resolve' | 'zoneOf' | 'authors'>
  /** Whether the router forwards a port to this device (net/port-mapping.ts). */
  portMapping: () => PortMappingStatus
  /** Whether teammates reach this device directly, from what they did (net/reachability.ts). */
  reachability: () => ReachabilityStatus
  /** The round trip to a teammate as the last catch-up with it measured (ms), if any. */
  rttOf: (peerId: string) => number | null
  /** Runs catch-up with every connected member of the workspace; resolves when the first round is done. */
  syncWorkspace: (workspaceId: string) => Promise<void>
  /**
   * Hands this device's membership ops of the workspace to those of `deviceIds` connected now, also
   * to one that is no longer a member (a removed device learns it was removed); resolves within
   * seconds with how many took them.
   */
  announce: (workspaceId: string, deviceIds: string[]) => Promise<number>
}

type Handlers = {
  [M in ClientMethod]: (params: ValidClientParams<M>, session: ClientSession) => Promise<ClientResults[M]> | ClientResults[M]
}

export function createApi(ctx: ApiContext) {
  const { device, store, workspaces, keys, documents, joining, connections } = ctx
  const self = device.deviceId

  const boards = new Boards({ documents, workspaces, self })

  const online = (id: string): boolean => id === self || connections.isConnected(id)
  const lastSeen = (id: string): number | null => (id === self ? Date.now() : (store.getPeer(id)?.lastSeen ?? null))

  /** Who has the current content key of `ws` (see `keyStatusSchema`). */
  const keyStatus = (ws: string): KeyStatus => {
    const state = workspaces.state(ws)
    const epoch = state?.epoch ?? null
    const readers = state ? [...state.members.values()].filter((m) => READER_ROLES.includes(m.role)) : []
    const confirmed = keys.confirmedReaders(ws)
    return {
      epochId: epoch?.id ?? null,
      since: epoch?.at ?? null,
      dropped: keys.dropped(ws).map((d) => ({ deviceId: d, name: workspaces.nameEver(ws, d) })),
      readers: readers.length,
      confirmed: readers.filter((m) => confirmed.has(m.deviceId)).length,
      waiting: readers
        .filter((m) => !confirmed.has(m.deviceId))
        .map((m) => ({ deviceId: m.deviceId, name: m.name, online: online(m.deviceId), lastSeen: lastSeen(m.deviceId) })),
    }
  }

  const memberName = (ws: string, id: string | null): string | null =>
    id === null ? null : (workspaces.state(ws)?.members.get(id)?.name ?? null)

  /** The workspace and this device's role in it; not-found unless this device is a member. */
  const membership = (id: string): { state: MembershipState; mine: Member['role'] } => {
    const state = workspaces.state(id)
    const mine = workspaces.roleOf(id, self)
    if (!state || mine === undefined) throw new GrapevineError('not-found', `Not a member of workspace ${id}.`)
    return { state, mine }
  }

  const memberInfo = (ws: string, m: Member, confirmed = keys.confirmedReaders(ws)): MemberInfo => ({
    deviceId: m.deviceId,
    name: m.name,
    role: m.role,
    safetyWords: fingerprintText(devicePublicKey(m.deviceId)?.raw ?? new Uint8Array()),
    addedBy: m.addedBy,
    addedAt: m.addedAt,
    online: online(m.deviceId),
    lastSeen: lastSeen(m.deviceId),
    self: m.deviceId === self,
    key: !READER_ROLES.includes(m.role) ? 'never' : confirmed.has(m.deviceId) ? 'current' : 'waiting',
  })

  /** The member `deviceId` of a workspace, for an admin to act on; the errors say who may do what. */
  const targetOf = (
    workspaceId: string,
    deviceId: string,
    doing: string,
  ): { state: MembershipState; mine: Member['role']; target: Member } => {
    const { state, mine } = membership(workspaceId)
    if (!ADMIN_ROLES.includes(mine))
      throw new GrapevineError('forbidden', `${mine === 'editor' ? 'An' : 'A'} ${mine} cannot ${doing}; ask an admin.`)
    const target = state.members.get(deviceId)
    if (!target) throw new GrapevineError('not-found', `${deviceId} is not a member of this workspace.`)
    return { state, mine, target }
  }

  /**
   * Whether an op by this device would take effect now. `act` keeps an op whether or not it does, and
   * a kept op that took no effect could take effect under a later version's rules (a refused leave
   * would then happen after all), so nothing is signed that would not apply.
   */
  const takesEffect = (workspaceId: string, input: MembershipChange): boolean => {
    const ops = store
      .listMembershipOps(workspaceId)
      .map((r) => verifyOp(workspaceId, { a: r.author, s: r.signature, b: r.bytes }))
      .filter((v): v is VerifiedOp => v !== null)
    const op = makeOp(device, workspaceId, input, heads(ops))
    return replayOps(workspaceId, [...ops, op])?.applied.has(op.hash) ?? false
  }

  const changeMembership = async (workspaceId: string, input: MembershipChange, refusal: string): Promise<void> => {
    if (!takesEffect(workspaceId, input)) throw new GrapevineError('conflict', refusal)
    await workspaces.act(workspaceId, input)
  }

  const workspaceInfo = (id: string): WorkspaceInfo => {
    const s = workspaces.state(id)
    const role = workspaces.roleOf(id, self)
    if (!s || role === undefined) throw new GrapevineError('not-found', `Not a member of workspace ${id}.`)
    return { id, name: s.name, role, ownerId: s.ownerId, createdAt: s.createdAt, memberCount: s.members.size }
  }

  const summaries = (rows: DocumentRow[]): DocumentSummary[] => {
    const unread = documents.unread(rows)
    return rows.map((r) => ({
      id: r.id,
      workspaceId: r.workspaceId,
      title: r.title,
      createdAt: r.createdAt,
      lastChangeAt: r.lastChangeAt,
      lastChangeBy: r.lastChangeBy,
      lastChangeByName: memberName(r.workspaceId, r.lastChangeBy),
      deleted: r.deleted,
      unread: unread.has(r.id),
      kind: documents.kindOf(r.id),
    }))
  }
  const summary = (r: DocumentRow): DocumentSummary => summaries([r])[0]!

  const peerInfo = (peerId: string): PeerInfo => {
    const row = store.getPeer(peerId)
    const ws = workspaces.ids().find((w) => workspaces.state(w)?.members.has(peerId))
    const reach = connections.reach(peerId)
    const relayWs = reach?.relayedBy ? workspaces.ids().find((w) => workspaces.state(w)?.members.has(reach.relayedBy!)) : undefined
    return {
      peerId,
      name: ws ? memberName(ws, peerId) : null,
      member: ws !== undefined,
      online: connections.isConnected(peerId),
      addresses: connections.addressesOf(peerId),
      how: reach?.how ?? null,
      relayedBy: reach?.relayedBy ?? null,
      relayedByName: relayWs && reach?.relayedBy ? memberName(relayWs, reach.relayedBy) : null,
      unreachable: ws !== undefined && !reach ? connections.whyUnreachable(peerId) : null,
      rttMs: reach ? ctx.rttOf(peerId) : null,
      ...behindOf(peerId),
      lastSeen: row?.lastSeen ?? null,
      lastSyncAt: row?.lastSyncAt ?? null,
    }
  }

  /** The documents of the workspaces it shares with us that `peerId` is known not to hold as we do. */
  const behindOf = (peerId: string): Pick<PeerInfo, 'behind' | 'behindCount'> => {
    const theirs = store.peerHeadsOf(peerId)
    const behind = workspaces
      .shared(peerId)
      .flatMap((ws) => documents.list(ws))
      .filter((d) => {
        const held = new Set(theirs.get(d.id) ?? [])
        return !d.heads.every((h) => held.has(h))
      })
      .sort((a, b) => b.lastChangeAt - a.lastChangeAt)
    return {
      behind: behind.slice(0, MAX_BEHIND_LISTED).map((d) => ({ docId: d.id, title: d.title })),
      behindCount: behind.length,
    }
  }

  const syncStatus = (docId: string): DocSyncStatus => {
    const row = documents.row(docId)
    const heads = documents.heads(docId)
    const others = [...(workspaces.state(row.workspaceId)?.members.keys() ?? [])].filter((m) => m !== self)
    const known = new Map(store.listPeerDocHeads(docId).map((k) => [k.peerId, k.heads]))
    const upToDate = others.filter((m) => {
      const theirs = new Set(known.get(m) ?? [])
      return heads.every((h) => theirs.has(h))
    })
    const state = workspaces.state(row.workspaceId)
    const offsets = new Map(ctx.presence.list(row.workspaceId).map((p) => [p.deviceId, p.utcOffsetMinutes]))
    // A keeper holds what it stores unopened; what it lacks is not this device's to count here.
    const reads = workspaces.roleOf(row.workspaceId, self) !== 'keeper'
    const receipts = others.map((m): Receipt => {
      const current = upToDate.includes(m)
      // This device's changes the member is known to lack; what it holds is what came before the first of them.
      const lacked = current || !reads ? { changes: 0, firstSeq: null } : documents.ownLackedBy(docId, known.get(m) ?? [])
      const firstLacked = lacked.firstSeq ?? undefined
      return {
        deviceId: m,
        name: state?.members.get(m)?.name ?? m,
        upToDate: current,
        yourEditsAsOf: reads ? store.newestArrivalBy(docId, self, firstLacked) : null,
        lacking: lacked.changes,
        online: online(m),
        lastSeen: lastSeen(m),
        utcOffsetMinutes: offsets.get(m) ?? null,
      }
    })
    const waiting = upToDate.length === 0 && others.length > 0 ? Math.min(...receipts.map((r) => r.lacking)) : 0
    return {
      docId,
      heads,
      savedLocally: true,
      upToDate,
      otherMembers: others.length,
      waitingChanges: waiting,
      lastOwnEditAt: reads ? store.newestArrivalBy(docId, self) : null,
      receipts,
    }
  }

  /** A session as a client sees it: the author named, with the time zone they were last known in. */
  const sessionInfo = (workspaceId: string, s: HistorySessionRow, offsets: Map<string, number>): HistorySession => ({
    version: s.version,
    authorId: s.author,
    authorName: s.author ? workspaces.nameEver(workspaceId, s.author) : 'someone',
    own: s.author === self,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    inserted: s.inserted,
    deleted: s.deleted,
    changes: s.changes,
    retitled: s.retitled,
    authorUtcOffsetMinutes:
      s.author === self ? -new Date(s.endedAt).getTimezoneOffset() || 0 : (offsets.get(s.author) ?? ctx.history.zoneOf(s.author)),
  })
  const zonesNow = (workspaceId: string): Map<string, number> =>
    new Map(ctx.presence.list(workspaceId).map((p) => [p.deviceId, p.utcOffsetMinutes]))
  /** The version `version` names, or not-found saying why. */
  const versionOf = async (docId: string, version: string): Promise<{ hash: string; session: HistorySessionRow | null }> => {
    const found = await ctx.history.resolve(docId, version)
    if (!found)
      throw new GrapevineError(
        'not-found',
        `No version ${version} of this document${version.length < 64 ? ', or more than one starts so (give more of it)' : ''}.`,
      )
    return found
  }

  const handlers: Handlers = {
    'session.configure': ({ events }, session) => {
      session.events = events
      return { events }
    },
    'identity.get': () => ({ deviceId: self, name: deviceName(store), safetyWords: device.safetyWords }),
    'identity.setName': async ({ name }) => {
      await setDeviceName(store, name)
      for (const ws of workspaces.ids()) {
        if (workspaces.state(ws)?.members.get(self)?.name !== name) await workspaces.act(ws, { type: 'name', name })
      }
      return { deviceId: self, name, safetyWords: device.safetyWords }
    },
    'workspace.list': () =>
      workspaces
        .ids()
        .filter((id) => workspaces.roleOf(id, self) !== undefined)
        .map(workspaceInfo),
    'workspace.create': async ({ name }) => workspaceInfo(await workspaces.create(name, deviceName(store))),
    'workspace.keys': ({ workspaceId }) => {
      membership(workspaceId)
      return keyStatus(workspaceId)
    },
    'workspace.members': ({ workspaceId }) => {
      const confirmed = keys.confirmedReaders(workspaceId)
      return [...membership(workspaceId).state.members.values()].map((m) => memberInfo(workspaceId, m, confirmed))
    },
    // Approval by default: a code that leaks (a chat log, a screenshot) admits no one by itself.
    'workspace.invite': ({ workspaceId, ttlMs, role, approve }) =>
      joining.createInvite(workspaceId, role ?? 'editor', ttlMs, approve ?? true),
    'invite.list': ({ workspaceId, includeClosed }) => joining.listInvites(workspaceId, includeClosed ?? false),
    'invite.revoke': ({ inviteId }) => joining.revoke(inviteId),
    'join.requests': () => joining.waiting(),
    'workspace.leave': async ({ workspaceId }) => {
      const { state } = membership(workspaceId)
      if (state.ownerId === self)
        throw new GrapevineError('conflict', 'The owner cannot leave the workspace: ownership transfer is not supported.')
      const teammates = [...state.members.keys()].filter((id) => id !== self)
      await changeMembership(
        workspaceId,
        { type: 'remove', member: self },
        'This version of Grapevine cannot record leaving this workspace yet; ask an admin to remove this device.',
      )
      // The documents stay in the database (a rejoin continues from them); the workspace is no longer
      // listed or served. The mark keeps handing the leave to teammates who were offline.
      await store.write(() => store.setMeta(leftMetaKey(workspaceId), String(Date.now())))
      return { workspaceId, teammates: teammates.length, told: await ctx.announce(workspaceId, teammates) }
    },
    'member.remove': async ({ workspaceId, deviceId }) => {
      const { state } = targetOf(workspaceId, deviceId, 'remove members')
      if (deviceId === state.ownerId) throw new GrapevineError('conflict', 'The owner cannot be removed.')
      if (deviceId === self) throw new GrapevineError('bad-request', 'To remove this device, leave the workspace (workspace.leave).')
      await changeMembership(workspaceId, { type: 'remove', member: deviceId }, 'That removal would not take effect; reload the members.')
      // Gossip no longer reaches the removed device, so it is told directly if it is online now.
      await ctx.announce(workspaceId, [deviceId])
      // The removal makes this admin's peer seal a new key to the rest: wait for it, then say who has it.
      await keys.settled(workspaceId)
      return { workspaceId, deviceId, keys: keyStatus(workspaceId) }
    },
    'member.setRole': async ({ workspaceId, deviceId, role }) => {
      const { state, mine, target } = targetOf(workspaceId, deviceId, 'change roles')
      if (deviceId === state.ownerId)
        throw new GrapevineError('conflict', "The owner's role cannot change: ownership transfer is not supported.")
      if (target.role === role) return memberInfo(workspaceId, target)
      // Admins can add and remove anyone but the owner; who else holds that power is the owner's choice.
      if (role === 'admin' && mine !== 'owner') throw new GrapevineError('forbidden', 'Only the owner can make someone an admin.')
      await changeMembership(
        workspaceId,
        { type: 'role', member: deviceId, role },
        'That role change would not take effect; reload the members.',
      )
      const now = workspaces.state(workspaceId)?.members.get(deviceId)
      if (!now) throw new GrapevineError('conflict', `${deviceId} was removed meanwhile.`)
      await keys.settled(workspaceId)
      return memberInfo(workspaceId, now)
    },
    'invite.inspect': ({ code }) => {
      const invite = decodeInvite(code)
      return {
        workspaceId: invite.ws,
        workspaceName: invite.name,
        inviterId: invite.inviter,
        inviterSafetyWords: fingerprintText(devicePublicKey(invite.inviter)?.raw ?? new Uint8Array()),
        expiresAt: invite.exp,
        needsApproval: invite.ap ?? false,
        mySafetyWords: device.safetyWords,
      }
    },
    'join.decide': ({ requestId, accept }) => {
      if (!joining.decide(requestId, accept))
        throw new GrapevineError('not-found', 'That join request is no longer waiting (it was answered or timed out).')
      return { requestId, accepted: accept }
    },
    'workspace.join': async ({ code, name }) => {
      const ws = await joining.join(code, name ?? deviceName(store))
      await ctx.syncWorkspace(ws)
      return workspaceInfo(ws)
    },
    'doc.list': ({ workspaceId, includeDeleted, docIds }) => {
      workspaceInfo(workspaceId)
      if (!docIds) return summaries(documents.list(workspaceId, includeDeleted))
      return summaries(documents.rows(workspaceId, docIds))
    },
    'doc.create': async ({ workspaceId, title, text }) => summary(await documents.create(workspaceId, title, text ?? '')),
    'doc.rename': async ({ docId, title }) => {
      await documents.edit(docId, (d) => setTitle(d, title))
      return summary({ ...documents.row(docId), title })
    },
    'doc.delete': async ({ docId }) => {
      await documents.edit(docId, (d) => {
        d.deleted = true
      })
      return summary({ ...documents.row(docId), deleted: true })
    },
    'doc.read': ({ docId }) => {
      documents.row(docId)
      const c = documents.content(docId)
      return { docId, title: c.title, text: c.text, heads: c.heads }
    },
    'doc.setText': async ({ docId, text }) => {
      if (documents.kindOf(docId) === 'board')
        throw new GrapevineError(
          'bad-request',
          `Document ${docId} is a board: its text is a rendering; change it with the card and column methods.`,
        )
      return { heads: await documents.setText(docId, text) }
    },
    'doc.open': ({ docId }, session) => {
      documents.row(docId)
      const held = documents.hold(docId)
      if (session.openDocs.has(docId)) documents.release(docId)
      session.openDocs.add(docId)
      return { docId, ...held, actor: newActorId(device), readHeads: store.getRead(docId)?.readHeads ?? null }
    },
    'doc.close': ({ docId }, session) => {
      const closed = session.openDocs.delete(docId)
      if (closed) documents.release(docId)
      return { closed }
    },
    'doc.applyChanges': async ({ docId, changes }, session) => ({ heads: await documents.applyClientChanges(docId, changes, session) }),
    'doc.syncStatus': ({ docId }) => syncStatus(docId),
    'doc.markRead': async ({ docId }) => {
      await documents.markRead(docId)
      return { docId }
    },
    'presence.set': ({ workspaceId, docId, cursor }) => {
      workspaceInfo(workspaceId)
      if (docId !== null && documents.row(docId).workspaceId !== workspaceId)
        throw new GrapevineError('bad-request', 'That document is not in that workspace.')
      ctx.presence.set(workspaceId, { docId, cursor })
      return { ok: true as const }
    },
    'presence.list': ({ workspaceId }) => {
      workspaceInfo(workspaceId)
      return ctx.presence.list(workspaceId)
    },
    'peer.list': () => {
      const ids = new Set([
        ...store.listPeers().map((p) => p.peerId),
        ...workspaces.teammates(),
        ...connections.connectedPeers().map(String),
      ])
      ids.delete(self)
      return [...ids].map(peerInfo)
    },
    'peer.dial': async ({ address }) => {
      try {
        return peerInfo(await connections.dialAddress(address))
      } catch (err) {
        throw new GrapevineError('unreachable', `Could not connect to ${address}: ${(err as Error).message}`)
      }
    },
    'network.info': () => ({
      peerId: self,
      listenAddresses: ctx.node.getMultiaddrs().map(String),
      connections: ctx.node.getConnections().length,
      portMapping: ctx.portMapping(),
      reachability: ctx.reachability(),
    }),
    'workspace.digest': ({ workspaceId, since }) => {
      workspaceInfo(workspaceId)
      if (workspaces.roleOf(workspaceId, self) === 'keeper')
        throw new GrapevineError('forbidden', 'This device is a keeper of the workspace: it cannot read what changed.')
      const authors = (docId: string) => ctx.history.authors(docId)
      return workspaceDigest({ store, documents, workspaces, authors, self }, workspaceId, since)
    },
    'workspace.markAllRead': async ({ workspaceId }) => {
      workspaceInfo(workspaceId)
      const rows = documents.list(workspaceId, true)
      for (const r of rows) await documents.markRead(r.id)
      return { documents: rows.length }
    },
    'doc.history': async ({ docId, before, limit = MAX_HISTORY_SESSIONS }) => {
      const row = documents.row(docId)
      const rows = await ctx.history.sessions(docId, limit + 1, before)
      const offsets = zonesNow(row.workspaceId)
      return { sessions: rows.slice(0, limit).map((s) => sessionInfo(row.workspaceId, s, offsets)), more: rows.length > limit }
    },
    'doc.version': async ({ docId, version }) => {
      const row = documents.row(docId)
      const { hash, session } = await versionOf(docId, version)
      const v = readVersion(documents.automerge(docId), hash)
      return { docId, version: hash, session: session && sessionInfo(row.workspaceId, session, zonesNow(row.workspaceId)), ...v }
    },
    'doc.restore': async ({ docId, version }) => {
      if (documents.kindOf(docId) === 'board')
        throw new GrapevineError(
          'bad-request',
          `Document ${docId} is a board: its history can be read, but restoring a version is for text documents.`,
        )
      const { hash } = await versionOf(docId, version)
      const v = readVersion(documents.automerge(docId), hash)
      if (v.title !== v.titleNow) await documents.edit(docId, (d) => setTitle(d, v.title))
      return { heads: await documents.setText(docId, v.text) }
    },
    'search.query': ({ query, workspaceId, limit }) => {
      if (workspaceId !== undefined) workspaceInfo(workspaceId)
      return ctx.search.search(query, workspaceId === undefined ? workspaces.ids() : [workspaceId], limit)
    },
    'search.rebuild': async () => ({ documents: await ctx.search.rebuild() }),
    'board.create': async ({ workspaceId, title, columns }) => summary(await boards.create(workspaceId, title, columns)),
    // Each document's board methods answer in the order asked (Boards.inOrder).
    'board.read': ({ docId }) => boards.inOrder(docId, () => boards.read(docId)),
    'card.add': ({ docId, before, after, index, ...card }) =>
      boards.inOrder(docId, () => boards.addCard(docId, card, { before, after, index })),
    'card.update': ({ docId, cardId, ...patch }) => boards.inOrder(docId, () => boards.updateCard(docId, cardId, patch)),
    'card.move': ({ docId, cardId, column, before, after, index }) =>
      boards.inOrder(docId, () => boards.moveCard(docId, cardId, column, { before, after, index })),
    'card.delete': ({ docId, cardId }) => boards.inOrder(docId, () => boards.deleteCard(docId, cardId)),
    'column.add': ({ docId, name, index }) => boards.inOrder(docId, () => boards.addColumn(docId, name, index)),
    'column.rename': ({ docId, columnId, name }) => boards.inOrder(docId, () => boards.renameColumn(docId, columnId, name)),
    'column.move': ({ docId, columnId, index }) => boards.inOrder(docId, () => boards.moveColumn(docId, columnId, index)),
    'column.delete': ({ docId, columnId }) => boards.inOrder(docId, () => boards.deleteColumn(docId, columnId)),
    'tasks.mine': ({ workspaceId }) => {
      if (workspaceId !== undefined) workspaceInfo(workspaceId)
      return boards.mine(workspaceId === undefined ? workspaces.ids() : [workspaceId])
    },
  }

  /** Validates and serves one request. */
  return async function handle(method: string, params: unknown, session: ClientSession): Promise<unknown> {
    if (!Object.hasOwn(clientRequestSchemas, method))
      throw new GrapevineError('bad-request', `Unknown method ${JSON.stringify(method).slice(0, 80)}.`)
    const m = method as ClientMethod
    const parsed = clientRequestSchemas[m].safeParse(params ?? {})
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const code = issue && isTooLarge(issue) ? 'too-large' : 'bad-request'
      throw new GrapevineError(code, `${m}: ${issue?.path.join('.') || 'params'}: ${issue?.message ?? 'invalid'}`)
    }
    const handler = handlers[m] as (p: unknown, s: ClientSession) => unknown
    return await handler(parsed.data, session)
  }
}
