/**
 * Joining with an invite. The joiner dials the inviter and presents the invite's one-time secret
 * over a direct stream; Noise has already proven the joiner's device id. The inviter checks the
 * invite (known, unexpired, unused), marks it used, signs an `add` op for the joiner and answers
 * with every membership op. Documents follow by catch-up.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { fingerprintText } from '../identity/words.ts'
import { devicePublicKey } from '../identity/keys.ts'
import { GrapevineError } from '../../../shared/protocol.ts'
import { ADMIN_ROLES, type JoinRequestInfo, type Role } from '../../../shared/types.ts'
import { DEFAULT_INVITE_TTL_MS } from '../../../shared/limits.ts'
import type { GrapevineNode } from '../net/node.ts'
import { dialable } from '../net/addresses.ts'
import type { PeerStore } from '../store/types.ts'
import type { Log } from '../log.ts'
import {
  JOIN_PROTOCOL, decodeMessage, encodeMessage, joinRequest, joinResponse, type JoinResponse,
} from '../wire/peer-protocol.ts'
import { checkInvite, decodeInvite, encodeInvite, secretHash } from './invites.ts'
import type { Workspaces } from './workspaces.ts'

const JOIN_FRAME_BYTES = 1024 * 1024
const JOIN_TIMEOUT_MS = 20_000
/** How long the inviter has to accept a join that needs approval. */
const APPROVAL_TIMEOUT_MS = 3 * 60_000

export interface JoiningEvents {
  /** A join waits for someone at this device to accept or reject it. */
  request: [JoinRequestInfo]
}

export class Joining extends EventEmitter<JoiningEvents> {
  private readonly decisions = new Map<string, (accept: boolean) => void>()
  private readonly waitingRequests = new Map<string, JoinRequestInfo>()
  private readonly node: GrapevineNode
  private readonly workspaces: Workspaces
  private readonly store: PeerStore
  private readonly log: Log

  constructor(node: GrapevineNode, workspaces: Workspaces, store: PeerStore, log: Log) {
    super()
    this.node = node
    this.workspaces = workspaces
    this.store = store
    this.log = log
  }

  async start(): Promise<void> {
    await this.node.handle(JOIN_PROTOCOL, (stream, connection) => this.answer(stream, connection), { maxInboundStreams: 4 })
  }

  /** Addresses a teammate can dial, loopback last unless it is all there is. */
  dialableAddresses(): string[] {
    const all = this.node.getMultiaddrs().map((a) => a.toString())
    return [...all.filter((a) => !a.includes('/127.0.0.1/')), ...all.filter((a) => a.includes('/127.0.0.1/'))].slice(0, 8)
  }

  /** Accepts or rejects a waiting join request; false if there is no such request (any more). */
  decide(requestId: string, accept: boolean): boolean {
    const resolve = this.decisions.get(requestId)
    if (!resolve) return false
    this.decisions.delete(requestId)
    resolve(accept)
    return true
  }

  /** Joins waiting for a decision, for a client that connects while they wait. */
  waiting(): JoinRequestInfo[] {
    return [...this.waitingRequests.values()]
  }

  private async approval(info: JoinRequestInfo): Promise<boolean> {
    this.waitingRequests.set(info.requestId, info)
    try {
      return await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => this.decide(info.requestId, false), APPROVAL_TIMEOUT_MS)
        this.decisions.set(info.requestId, (accept) => {
          clearTimeout(timer)
          resolve(accept)
        })
        this.emit('request', info)
      })
    } finally {
      this.waitingRequests.delete(info.requestId)
    }
  }

  async createInvite(workspaceId: string, role: Exclude<Role, 'owner'>, ttlMs = DEFAULT_INVITE_TTL_MS, approve = false) {
    const state = this.workspaces.state(workspaceId)
    const mine = this.workspaces.roleOf(workspaceId, this.node.peerId.toString())
    if (!state || mine === undefined) throw new GrapevineError('not-found', `Not a member of workspace ${workspaceId}.`)
    if (!ADMIN_ROLES.includes(mine)) throw new GrapevineError('forbidden', `${mine === 'editor' ? 'An' : 'A'} ${mine} cannot invite; ask an admin.`)
    const secret = randomBytes(32)
    const id = randomBytes(8).toString('hex')
    const now = Date.now()
    const expiresAt = now + ttlMs
    await this.store.write(() => this.store.putInvite({
      id, workspaceId, secretHash: secretHash(secret), role, createdAt: now, expiresAt, usedAt: null, usedBy: null,
      requireApproval: approve,
    }))
    const { code, link } = encodeInvite({
      v: 1, ws: workspaceId, name: state.name, inviter: this.node.peerId.toString(), invite: id, secret, exp: expiresAt,
      addrs: this.dialableAddresses(), ...(approve ? { ap: true } : {}),
    })
    return { workspaceId, code, link, expiresAt, role }
  }

  /** Joins with a pasted code or link; resolves with the workspace id once this device is a member. */
  async join(code: string, name: string): Promise<string> {
    const invite = decodeInvite(code)
    if (this.workspaces.roleOf(invite.ws, this.node.peerId.toString()) !== undefined) return invite.ws
    try {
      peerIdFromString(invite.inviter)
    } catch {
      throw new GrapevineError('invite-invalid', 'That invite names an inviter that is not a Grapevine device id.')
    }
    const addrs = dialable(invite.addrs, invite.inviter)
    if (addrs.length === 0) throw new GrapevineError('invite-invalid', 'That invite carries no address to reach the inviter.')
    const signal = AbortSignal.timeout(invite.ap ? APPROVAL_TIMEOUT_MS + JOIN_TIMEOUT_MS : JOIN_TIMEOUT_MS)
    let stream: Stream
    try {
      const connection = await this.node.dial(addrs, { signal })
      stream = await connection.newStream(JOIN_PROTOCOL, { signal })
    } catch (err) {
      throw new GrapevineError('unreachable',
        `Could not reach the inviter at ${invite.addrs.join(', ')} (${(err as Error).message}). Are they online and on this network?`)
    }
    const lp = lpStream(stream, { maxDataLength: JOIN_FRAME_BYTES })
    let answer: JoinResponse
    try {
      await lp.write(encodeMessage({ t: 'join', v: 1, ws: invite.ws, invite: invite.invite, secret: invite.secret, name }), { signal })
      answer = decodeMessage(joinResponse, (await lp.read({ signal })).subarray(), JOIN_FRAME_BYTES, 'join answer')
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      stream.abort(err as Error)
      throw new GrapevineError('unreachable', `The inviter did not answer the join request: ${(err as Error).message}`)
    }
    if (answer.t === 'refuse') throw new GrapevineError(answer.code, answer.reason)
    await this.workspaces.ingest(invite.ws, answer.ops, true)
    if (this.workspaces.roleOf(invite.ws, this.node.peerId.toString()) === undefined) {
      throw new GrapevineError('invite-invalid', 'The inviter answered, but its membership record does not include this device.')
    }
    await this.store.write(() => this.store.notePeerSeen(invite.inviter, invite.addrs, Date.now()))
    this.log('info', `joined workspace "${answer.name}" (${invite.ws}) through ${invite.inviter}`)
    return invite.ws
  }

  private async answer(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(APPROVAL_TIMEOUT_MS + JOIN_TIMEOUT_MS)
    const lp = lpStream(stream, { maxDataLength: JOIN_FRAME_BYTES })
    const joiner = connection.remotePeer.toString()
    const reply = async (r: JoinResponse): Promise<void> => {
      await lp.write(encodeMessage(r), { signal })
      await stream.close({ signal }).catch(() => {})
    }
    try {
      const req = decodeMessage(joinRequest, (await lp.read({ signal })).subarray(), JOIN_FRAME_BYTES, 'join request')
      const now = Date.now()
      const invite = this.store.getInvite(req.invite)
      const problem = checkInvite(invite, req.ws, req.secret, now)
      if (problem) {
        this.log('warn', `join by ${joiner} refused: ${problem.reason}`)
        return await reply({ t: 'refuse', ...problem })
      }
      const mine = this.workspaces.roleOf(req.ws, this.node.peerId.toString())
      if (mine === undefined || !ADMIN_ROLES.includes(mine)) {
        return await reply({ t: 'refuse', code: 'forbidden', reason: 'The inviter can no longer add members.' })
      }
      if (invite!.requireApproval) {
        const accepted = await this.approval({
          requestId: randomBytes(8).toString('hex'), workspaceId: req.ws, workspaceName: this.workspaces.state(req.ws)!.name,
          deviceId: joiner, name: req.name, safetyWords: fingerprintText(devicePublicKey(joiner)?.raw ?? new Uint8Array()),
        })
        if (!accepted) {
          this.log('info', `join by ${req.name} (${joiner}) was not accepted`)
          return await reply({ t: 'refuse', code: 'forbidden', reason: 'The inviter did not accept this join.' })
        }
      }
      const fresh = await this.store.write(() => this.store.useInvite(req.invite, joiner, Date.now()))
      if (!fresh) return await reply({ t: 'refuse', code: 'invite-used', reason: 'This invite has been used already; ask for a new one.' })
      if (this.workspaces.roleOf(req.ws, joiner) === undefined) {
        await this.workspaces.act(req.ws, { type: 'add', member: joiner, name: req.name, role: invite!.role })
      }
      this.log('info', `${req.name} (${joiner}) joined ${req.ws} with invite ${req.invite}`)
      await reply({ t: 'welcome', ws: req.ws, name: this.workspaces.state(req.ws)!.name, ops: this.workspaces.signedOps(req.ws) })
    } catch (err) {
      this.log('warn', `join request from ${joiner} failed: ${(err as Error).message}`)
      stream.abort(err as Error)
    }
  }
}
