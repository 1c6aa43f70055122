/**
 * Joining with an invite. The joiner dials the inviter and presents the invite's one-time secret
 * over a direct stream; Noise has already proven the joiner's device id. The inviter checks the
 * invite (known, unexpired, open), asks someone at this device to accept the joiner after comparing
 * safety words (unless the invite was made without approval), marks it used, signs an `add` op for
 * the joiner and answers with every membership op. Documents follow by catch-up. A declined join
 * uses the invite up, so that its holder cannot keep raising requests; a revoked invite admits no one.
 *
 * A busy inviter may drop a connection mid-handshake, or not listen yet: the joiner tries again with
 * exponential backoff and jitter, within the invite's expiry and a bounded time. Asking again is
 * safe: the inviter answers a joiner that its invite already admitted with the same welcome, and
 * admits no one else with it.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { fingerprintText } from '../identity/words.ts'
import { devicePublicKey } from '../identity/keys.ts'
import { GrapevineError } from '../../../shared/protocol.ts'
import { ADMIN_ROLES, type InviteInfo, type InviteSummary, type JoinRequestInfo, type Role } from '../../../shared/types.ts'
import { DEFAULT_INVITE_TTL_MS, MAX_LISTED_INVITES } from '../../../shared/limits.ts'
import type { GrapevineNode } from '../net/node.ts'
import { dialable } from '../net/addresses.ts'
import { guardStreams } from '../net/limits.ts'
import type { Durable, InviteRow, MembershipStore, PeerBook } from '../store/types.ts'
import type { Log } from '../log.ts'
import {
  JOIN_PROTOCOL,
  decodeMessage,
  encodeMessage,
  joinRequest,
  joinResponse,
  type InvitePayload,
  type JoinResponse,
} from '../wire/peer-protocol.ts'
import { describeFailure } from '../net/failure.ts'
import type { z } from 'zod'
import { checkInvite, decodeInvite, encodeInvite, inviteExpiry, inviteState, secretHash } from './invites.ts'
import type { Workspaces } from './workspaces.ts'

const JOIN_FRAME_BYTES = 1024 * 1024
const JOIN_TIMEOUT_MS = 20_000
/** How long the inviter has to accept a join that needs approval. */
const APPROVAL_TIMEOUT_MS = 3 * 60_000
/** How long a join keeps trying to reach the inviter before it gives up (less if the invite expires first). */
const JOIN_RETRY_BUDGET_MS = 15_000
/** One attempt's dial, or its exchange, may take this long (a loaded inviter handshakes slowly). */
const ATTEMPT_TIMEOUT_MS = 8_000
/** Each step gets at least this long, even when the budget is nearly spent. */
const MIN_STEP_MS = 1_000
/** Backoff between attempts: 250 ms doubling up to 4 s, each delay drawn from its upper half. */
const RETRY_BASE_MS = 250
const RETRY_MAX_MS = 4_000

/** Where one attempt to reach the inviter failed; the joiner's error names it. */
export type JoinStep = 'dial' | 'encryption handshake' | 'protocol exchange'

interface AttemptFailure {
  step: JoinStep
  cause: string
  retry: boolean
}

type JoinRequest = z.infer<typeof joinRequest>

/** libp2p's errors for a connection that opened but did not become an encrypted, multiplexed one with the inviter. */
const HANDSHAKE_ERRORS = new Set(['EncryptionFailedError', 'InvalidCryptoExchangeError', 'UnexpectedPeerError', 'MuxerUnavailableError'])

function dialStep(err: unknown): JoinStep {
  const all = err instanceof AggregateError ? err.errors : [err]
  return all.some((e) => e instanceof Error && HANDSHAKE_ERRORS.has(e.name)) ? 'encryption handshake' : 'dial'
}

function backoffMs(failedAttempts: number): number {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failedAttempts - 1))
  // Jitter, so that joiners who failed together (a burst at a busy inviter) do not come back together.
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

/** How a join request that waited for a decision ended. */
export type JoinOutcome = 'accepted' | 'declined' | 'timed-out' | 'revoked'

export interface JoiningEvents {
  /** A join waits for someone at this device to accept or reject it. */
  request: [JoinRequestInfo]
  /** A join request no longer waits. */
  settled: [{ requestId: string; workspaceId: string; outcome: JoinOutcome }]
  /** An invite of this workspace was made, used, declined or revoked. */
  invites: [workspaceId: string]
}

/** What joining is built from (libp2p-style components, as the other parts of a peer). */
export interface JoiningComponents {
  node: GrapevineNode
  workspaces: Workspaces
  store: Durable & MembershipStore & PeerBook
  log: Log
  /** Waits for the keys pass under way in a workspace (the grant of the key to a new member). */
  keysSettled?: (workspaceId: string) => Promise<void>
  /** Where the router forwards a port to this device (net/port-mapping.ts): put first in invites. */
  mapped?: () => string[]
}

export class Joining extends EventEmitter<JoiningEvents> {
  private readonly decisions = new Map<string, (outcome: JoinOutcome) => void>()
  private readonly waitingRequests = new Map<string, JoinRequestInfo>()
  /** The join request being answered per invite id (see `oneAtATime`). */
  private readonly running = new Map<string, Promise<unknown>>()
  private readonly node: GrapevineNode
  private readonly workspaces: Workspaces
  private readonly store: Durable & MembershipStore & PeerBook
  private readonly log: Log

  /** Waits for the keys pass under way in a workspace (the grant of the key to a new member). */
  private readonly keysSettled: (workspaceId: string) => Promise<void>
  /** Where the router forwards a port to this device (net/port-mapping.ts): put first in invites. */
  private readonly mapped: () => string[]

  constructor(components: JoiningComponents) {
    super()
    const { node, workspaces, store, log, keysSettled = async () => {}, mapped = () => [] } = components
    this.mapped = mapped
    this.node = node
    this.workspaces = workspaces
    this.keysSettled = keysSettled
    this.store = store
    this.log = log
  }

  async start(): Promise<void> {
    await this.node.handle(JOIN_PROTOCOL, guardStreams(this.node, JOIN_PROTOCOL, this.answer.bind(this)), { maxInboundStreams: 4 })
  }

  /**
   * Addresses a teammate can dial: the router's forwarded port first (reachable from anywhere), loopback
   * last unless it is all there is.
   */
  dialableAddresses(): string[] {
    const all = [...this.mapped(), ...this.node.getMultiaddrs().map((a) => a.toString())]
    return [...all.filter((a) => !a.includes('/127.0.0.1/')), ...all.filter((a) => a.includes('/127.0.0.1/'))].slice(0, 8)
  }

  /** Accepts or rejects a waiting join request; false if there is no such request (any more). */
  decide(requestId: string, accept: boolean): boolean {
    return this.settle(requestId, accept ? 'accepted' : 'declined')
  }

  private settle(requestId: string, outcome: JoinOutcome): boolean {
    const resolve = this.decisions.get(requestId)
    if (!resolve) return false
    this.decisions.delete(requestId)
    resolve(outcome)
    return true
  }

  /** Joins waiting for a decision, for a client that connects while they wait. */
  waiting(): JoinRequestInfo[] {
    return [...this.waitingRequests.values()]
  }

  private async approval(info: JoinRequestInfo): Promise<JoinOutcome> {
    this.waitingRequests.set(info.requestId, info)
    let outcome: JoinOutcome = 'timed-out'
    try {
      outcome = await new Promise<JoinOutcome>((resolve) => {
        const timer = setTimeout(() => this.settle(info.requestId, 'timed-out'), APPROVAL_TIMEOUT_MS)
        this.decisions.set(info.requestId, (o) => {
          clearTimeout(timer)
          resolve(o)
        })
        this.emit('request', info)
      })
      return outcome
    } finally {
      this.waitingRequests.delete(info.requestId)
      this.emit('settled', { requestId: info.requestId, workspaceId: info.workspaceId, outcome })
    }
  }

  async createInvite(
    workspaceId: string,
    role: Exclude<Role, 'owner'>,
    ttlMs = DEFAULT_INVITE_TTL_MS,
    approve = true,
  ): Promise<InviteInfo> {
    // A keys pass under way (the first epoch of a workspace just made, a grant) settles first: the name the
    // invite carries is the one its sealed title op opens to, not the stand-in shown while a key is on its way.
    await this.keysSettled(workspaceId)
    const state = this.workspaces.state(workspaceId)
    const mine = this.workspaces.roleOf(workspaceId, this.node.peerId.toString())
    if (!state || mine === undefined) throw new GrapevineError('not-found', `Not a member of workspace ${workspaceId}.`)
    if (!ADMIN_ROLES.includes(mine))
      throw new GrapevineError('forbidden', `${mine === 'editor' ? 'An' : 'A'} ${mine} cannot invite; ask an admin.`)
    // Admins can add and remove anyone but the owner; who else holds that power is the owner's choice.
    if (role === 'admin' && mine !== 'owner') throw new GrapevineError('forbidden', 'Only the owner can invite an admin.')
    const secret = randomBytes(32)
    const id = randomBytes(8).toString('hex')
    const now = Date.now()
    const expiresAt = now + ttlMs
    await this.store.write(() =>
      this.store.putInvite({
        id,
        workspaceId,
        secretHash: secretHash(secret),
        role,
        createdAt: now,
        expiresAt,
        usedAt: null,
        usedBy: null,
        requireApproval: approve,
        revokedAt: null,
        declinedAt: null,
        declinedBy: null,
      }),
    )
    this.emit('invites', workspaceId)
    const { code, link } = encodeInvite({
      v: 1,
      ws: workspaceId,
      // A keeper never reads the workspace, its name included: its invite and welcome carry none.
      name: role === 'keeper' ? '' : state.name,
      inviter: this.node.peerId.toString(),
      invite: id,
      secret,
      exp: expiresAt,
      addrs: this.dialableAddresses(),
      ...(approve ? { ap: true } : {}),
    })
    return { id, workspaceId, code, link, expiresAt, role, needsApproval: approve }
  }

  /** Invites this device made for a workspace it is in, newest first; open ones unless `includeClosed`. */
  listInvites(workspaceId: string, includeClosed = false): InviteSummary[] {
    if (this.workspaces.roleOf(workspaceId, this.node.peerId.toString()) === undefined)
      throw new GrapevineError('not-found', `Not a member of workspace ${workspaceId}.`)
    const now = Date.now()
    return this.store
      .listInvites(workspaceId, MAX_LISTED_INVITES)
      .map((row) => this.summary(row, now))
      .filter((i) => includeClosed || i.state === 'open')
  }

  /**
   * Stops an invite from admitting anyone; a join waiting for approval with it is refused. Revoking a
   * revoked or expired invite changes nothing; a used or declined one is a conflict (it admits no one
   * already: remove the member instead).
   */
  async revoke(inviteId: string): Promise<InviteSummary> {
    const row = this.store.getInvite(inviteId)
    if (!row) throw new GrapevineError('not-found', `No invite ${inviteId} made on this device.`)
    const state = inviteState(row, Date.now())
    if (state === 'used' || state === 'declined') {
      const what = state === 'used' ? 'was used already' : 'was declined and admits no one'
      throw new GrapevineError('conflict', `Invite ${inviteId} ${what}; to take someone out, remove them from the workspace.`)
    }
    if (state !== 'open') return this.summary(row, Date.now())
    const now = Date.now()
    // False only if a join used it meanwhile; then it is that join's, and the answer says so.
    await this.store.write(() => this.store.revokeInvite(inviteId, now))
    for (const r of this.waitingRequests.values()) if (r.inviteId === inviteId) this.settle(r.requestId, 'revoked')
    this.emit('invites', row.workspaceId)
    this.log('info', `invite ${inviteId} revoked`)
    const after = this.store.getInvite(inviteId) ?? row
    return this.summary(after, now)
  }

  private summary(row: InviteRow, now: number): InviteSummary {
    const state = inviteState(row, now)
    const by = row.usedBy ?? row.declinedBy
    const closedAt = state === 'used' ? row.usedAt : state === 'declined' ? row.declinedAt : state === 'revoked' ? row.revokedAt : null
    return {
      id: row.id,
      workspaceId: row.workspaceId,
      role: row.role,
      createdAt: row.createdAt,
      expiresAt: inviteExpiry(row),
      needsApproval: row.requireApproval,
      state,
      closedAt,
      by,
      byName: by === null ? null : (this.workspaces.state(row.workspaceId)?.members.get(by)?.name ?? null),
    }
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
    const started = Date.now()
    const deadline = Math.min(started + JOIN_RETRY_BUDGET_MS, invite.exp)
    let answer: JoinResponse | undefined
    let failure: AttemptFailure | undefined
    let attempts = 0
    for (;;) {
      attempts++
      const result = await this.attempt(invite, addrs, name, deadline)
      if ('t' in result) {
        answer = result
        break
      }
      failure = result
      const left = deadline - Date.now()
      if (!result.retry || left < MIN_STEP_MS) break
      // The last wait is cut short so that one more attempt still fits before the deadline.
      const delay = Math.min(backoffMs(attempts), left - MIN_STEP_MS)
      this.log('info', `join attempt ${attempts} failed at the ${result.step} (${result.cause}); trying again in ${delay} ms`)
      await new Promise((r) => setTimeout(r, delay))
    }
    if (!answer) throw this.unreachable(invite, failure!, attempts, Date.now() - started, deadline === invite.exp)
    // Refused: the inviter's own reason (used, expired, unknown, not accepted) is what the person reads.
    if (answer.t === 'refuse') throw new GrapevineError(answer.code, answer.reason)
    await this.workspaces.ingest(invite.ws, answer.ops, true)
    if (this.workspaces.roleOf(invite.ws, this.node.peerId.toString()) === undefined) {
      throw new GrapevineError('invite-invalid', 'The inviter answered, but its membership record does not include this device.')
    }
    await this.store.write(() => this.store.notePeerSeen(invite.inviter, invite.addrs, Date.now()))
    const retried = attempts > 1 ? ` on attempt ${attempts}` : ''
    const named = answer.name ? `"${answer.name}" ` : ''
    this.log('info', `joined workspace ${named}(${invite.ws}) through ${invite.inviter}${retried}`)
    return invite.ws
  }

  /** One attempt: dial (with its encryption handshake), open the join stream, ask, read the answer. */
  private async attempt(invite: InvitePayload, addrs: Multiaddr[], name: string, deadline: number): Promise<JoinResponse | AttemptFailure> {
    const stepSignal = (): AbortSignal => AbortSignal.timeout(Math.min(ATTEMPT_TIMEOUT_MS, Math.max(MIN_STEP_MS, deadline - Date.now())))
    let connection: Connection
    try {
      connection = await this.node.dial(addrs, { signal: stepSignal() })
    } catch (err) {
      return { step: dialStep(err), cause: describeFailure(err), retry: true }
    }
    // A join that needs approval waits for a person at the inviter; a request once sent is not sent again,
    // so that they are not asked twice.
    const signal = invite.ap ? AbortSignal.timeout(APPROVAL_TIMEOUT_MS + JOIN_TIMEOUT_MS) : stepSignal()
    let stream: Stream | undefined
    let sent = false
    try {
      stream = await connection.newStream(JOIN_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: JOIN_FRAME_BYTES })
      await lp.write(encodeMessage({ t: 'join', v: 1, ws: invite.ws, invite: invite.invite, secret: invite.secret, name }), { signal })
      sent = true
      const answer = decodeMessage(joinResponse, (await lp.read({ signal })).subarray(), JOIN_FRAME_BYTES, 'join answer')
      await stream.close({ signal }).catch(() => {})
      return answer
    } catch (err) {
      const cause = describeFailure(err)
      stream?.abort(err instanceof Error ? err : new Error(cause))
      // An answer that does not decode will not decode next time either.
      const retry = !(err instanceof Error && err.name === 'WireError') && !(invite.ap && sent)
      return { step: 'protocol exchange', cause, retry }
    }
  }

  private unreachable(
    invite: InvitePayload,
    failure: AttemptFailure,
    attempts: number,
    elapsedMs: number,
    untilExpiry: boolean,
  ): GrapevineError {
    const tries = `${attempts} attempt${attempts === 1 ? '' : 's'} in ${seconds(elapsedMs)}`
    const expired = untilExpiry ? '; the invite ran out of time, ask for a new one' : ''
    if (failure.step === 'protocol exchange') {
      return new GrapevineError(
        'unreachable',
        `The inviter did not answer the join request (protocol exchange failed: ${failure.cause}; ${tries})${expired}.`,
      )
    }
    return new GrapevineError(
      'unreachable',
      `Could not reach the inviter at ${invite.addrs.join(', ')} ` +
        `(${failure.step} failed: ${failure.cause}; ${tries})${expired}. Are they online and on this network?`,
    )
  }

  private async answer(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(APPROVAL_TIMEOUT_MS + JOIN_TIMEOUT_MS)
    const lp = lpStream(stream, { maxDataLength: JOIN_FRAME_BYTES })
    const joiner = connection.remotePeer.toString()
    try {
      const req = decodeMessage(joinRequest, (await lp.read({ signal })).subarray(), JOIN_FRAME_BYTES, 'join request')
      // One request per invite at a time: a joiner's second attempt waits for its first to finish, and then
      // finds itself admitted instead of finding the invite used.
      const response = await this.oneAtATime(req.invite, () => this.admit(req, joiner))
      await lp.write(encodeMessage(response), { signal })
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      this.log('warn', `join request from ${joiner} failed: ${describeFailure(err)}`)
      stream.abort(err instanceof Error ? err : new Error(describeFailure(err)))
    }
  }

  /** Checks a join request and admits the joiner; the answer to send. */
  private async admit(req: JoinRequest, joiner: string): Promise<JoinResponse> {
    const welcome = (): JoinResponse => ({
      t: 'welcome',
      ws: req.ws,
      name: this.workspaces.roleOf(req.ws, joiner) === 'keeper' ? '' : this.workspaces.state(req.ws)!.name,
      ops: this.workspaces.signedOps(req.ws),
    })
    const invite = this.store.getInvite(req.invite)
    const problem = checkInvite(invite, req.ws, req.secret, Date.now())
    if (problem) {
      // The secret matched and this invite admitted this very device: an earlier answer was lost on the way
      // (the joiner asks again). Answer again; admit no one. A member removed since gets no welcome.
      if (problem.code === 'invite-used' && invite?.usedBy === joiner && this.workspaces.roleOf(req.ws, joiner) !== undefined) {
        this.log('info', `${req.name} (${joiner}) asked again with invite ${req.invite}, which admitted it already`)
        return welcome()
      }
      this.log('warn', `join by ${joiner} refused: ${problem.reason}`)
      return { t: 'refuse', ...problem }
    }
    const cannotAdd = this.cannotAdd(req.ws, invite!.role)
    if (cannotAdd) return cannotAdd
    if (invite!.requireApproval) {
      const outcome = await this.approval({
        requestId: randomBytes(8).toString('hex'),
        inviteId: req.invite,
        workspaceId: req.ws,
        workspaceName: this.workspaces.state(req.ws)!.name,
        deviceId: joiner,
        name: req.name,
        safetyWords: fingerprintText(devicePublicKey(joiner)?.raw ?? new Uint8Array()),
      })
      if (outcome !== 'accepted') {
        this.log('info', `join by ${req.name} (${joiner}) was not accepted (${outcome})`)
        return await this.notAccepted(req, joiner, outcome)
      }
      // Minutes may have passed: this device may have lost the right to add, or the invite been revoked.
      const cannotAddNow = this.cannotAdd(req.ws, invite!.role)
      if (cannotAddNow) return cannotAddNow
    }
    const fresh = await this.store.write(() => this.store.useInvite(req.invite, joiner, Date.now()))
    if (!fresh) {
      const why = checkInvite(this.store.getInvite(req.invite), req.ws, req.secret, Date.now())
      return { t: 'refuse', ...(why ?? { code: 'invite-used', reason: 'This invite has been used already; ask for a new one.' }) }
    }
    this.emit('invites', req.ws)
    if (this.workspaces.roleOf(req.ws, joiner) === undefined) {
      await this.workspaces.act(req.ws, { type: 'add', member: joiner, name: req.name, role: invite!.role })
    }
    // The add makes this admin's peer seal the workspace key to the new device (a grant): in the welcome.
    await this.keysSettled(req.ws)
    this.log('info', `${req.name} (${joiner}) joined ${req.ws} with invite ${req.invite}`)
    return welcome()
  }

  /** The refusal when this device may not (any longer) add a member with `role`, else null. */
  private cannotAdd(ws: string, role: Role): JoinResponse | null {
    const mine = this.workspaces.roleOf(ws, this.node.peerId.toString())
    if (mine === undefined || !ADMIN_ROLES.includes(mine)) {
      return { t: 'refuse', code: 'forbidden', reason: 'The inviter can no longer add members.' }
    }
    // Also an admin invite an admin made before only the owner could.
    if (role === 'admin' && mine !== 'owner') return { t: 'refuse', code: 'forbidden', reason: 'Only the owner can admit an admin.' }
    return null
  }

  /** The answer to a join that was not accepted; a declined one uses the invite up. */
  private async notAccepted(req: JoinRequest, joiner: string, outcome: Exclude<JoinOutcome, 'accepted'>): Promise<JoinResponse> {
    if (outcome === 'revoked')
      return { t: 'refuse', code: 'invite-used', reason: 'This invite was revoked by the inviter; ask for a new one.' }
    if (outcome === 'timed-out') {
      return {
        t: 'refuse',
        code: 'forbidden',
        reason: 'Nobody at the inviter answered in time; the invite still works, so try again when they are there.',
      }
    }
    if (await this.store.write(() => this.store.declineInvite(req.invite, joiner, Date.now()))) this.emit('invites', req.ws)
    return { t: 'refuse', code: 'forbidden', reason: 'The inviter did not accept this join; the invite works no more.' }
  }

  /** Runs `fn` after every earlier call for the same key has settled. */
  private async oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.running.get(key) ?? Promise.resolve()).catch(() => {}).then(fn)
    this.running.set(key, run)
    try {
      return await run
    } finally {
      if (this.running.get(key) === run) this.running.delete(key)
    }
  }
}
