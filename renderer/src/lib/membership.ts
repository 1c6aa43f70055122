/**
 * Who may do what to whom in a workspace, and the words for it (roles, removal, leaving, invites).
 * Pure: the peer decides; this only decides what the UI offers and how it says it.
 */
import { ADMIN_ROLES, type InviteSummary, type Role } from '../../../shared/types.ts'
import { expiresIn } from './format.ts'

/** A role that can be given (the owner's role is never given or taken). */
export type GivenRole = Exclude<Role, 'owner'>

export const ROLE_LABEL: Record<Role, string> = { owner: 'Owner', admin: 'Admin', editor: 'Editor', viewer: 'Viewer', keeper: 'Keeper' }

/** What a role may do, in a few words. */
export const ROLE_HINT: Record<Role, string> = {
  owner: 'made the workspace; can do everything',
  admin: 'can write, invite, change roles and remove members',
  editor: 'can write',
  viewer: 'can read, not change',
  keeper: 'stores and relays the workspace, encrypted; can’t read it',
}

/** Whether this device (with `myRole`) may change the role of, or remove, `member`. */
export function canManage(myRole: Role, member: { role: Role; self: boolean }): boolean {
  return ADMIN_ROLES.includes(myRole) && !member.self && member.role !== 'owner'
}

export interface RoleChoice {
  role: GivenRole
  /** The member's role now. */
  current: boolean
  /** Whether this device may give it; else `reason` says why not. */
  allowed: boolean
  reason?: string
}

/**
 * The roles to offer for `member`: the owner gives admin, editor, viewer or keeper; an admin gives
 * editor, viewer or keeper (an admin member shows as admin, not offered). Empty where nothing may
 * be changed.
 */
export function roleChoices(myRole: Role, member: { role: Role; self: boolean }): RoleChoice[] {
  if (!canManage(myRole, member)) return []
  const given: GivenRole[] = ['editor', 'viewer', 'keeper']
  const roles: GivenRole[] = myRole === 'owner' || member.role === 'admin' ? ['admin', ...given] : given
  return roles.map((role) => {
    const allowed = role !== 'admin' || myRole === 'owner'
    return {
      role,
      current: member.role === role,
      allowed,
      ...(allowed ? {} : { reason: 'Only the owner can make someone an admin.' }),
    }
  })
}

/** The roles an invite may carry: viewer, editor or keeper; admin only when the owner invites. */
export function inviteRoles(myRole: Role): GivenRole[] {
  return myRole === 'owner' ? ['viewer', 'editor', 'admin', 'keeper'] : ['viewer', 'editor', 'keeper']
}

/** How long a new invite may stay valid (the peer allows at most 7 days). */
export const INVITE_TTLS: readonly { label: string; ms: number }[] = [
  { label: '1 hour', ms: 60 * 60 * 1000 },
  { label: '1 day', ms: 24 * 60 * 60 * 1000 },
  { label: '7 days', ms: 7 * 24 * 60 * 60 * 1000 },
]

/** The question before removing a member, saying what removal does and what it does not do. */
export function removalQuestion(name: string, workspace: string): { title: string; message: string; note: string } {
  return {
    title: `Remove ${name} from ${workspace}?`,
    message:
      `${name}’s device stops receiving anything new from ${workspace} and cannot change it any more: ` +
      `${workspace} gets a new key that ${name}’s device never receives. ` +
      `${name} keeps the copies of documents that are already on that device.`,
    note: 'Teammates who are offline now learn of the removal, and get the new key, when they next connect.',
  }
}

/** The question before this device leaves a workspace. */
export function leaveQuestion(workspace: string): { title: string; message: string } {
  return {
    title: `Leave ${workspace}?`,
    message: `Your documents stay on this device but are no longer shown; to come back you need a new invite.`,
  }
}

/** Why this device cannot leave, or null when it can. */
export function cannotLeave(myRole: Role): string | null {
  return myRole === 'owner' ? 'You own this workspace: the owner cannot leave it (ownership cannot be handed over yet).' : null
}

/** After leaving: who has been told. */
export function leftMessage(workspace: string, r: { teammates: number; told: number }): string {
  if (r.teammates === 0) return `You left ${workspace}.`
  if (r.told >= r.teammates) return `You left ${workspace}. Your teammates have been told.`
  if (r.told === 0)
    return `You left ${workspace}. No teammate could be reached just now; they learn it when they next connect to this device.`
  const of = `${r.told} of ${r.teammates} teammate${r.teammates === 1 ? '' : 's'}`
  return `You left ${workspace}. ${of} ${r.told === 1 ? 'has' : 'have'} been told; the others learn it when they next connect to this device.`
}

/**
 * Workspaces in `before` that are missing from `after` and that this device did not leave itself:
 * an admin removed this device from them.
 */
export function removedFrom<W extends { id: string }>(before: readonly W[], after: readonly W[], left: ReadonlySet<string>): W[] {
  const still = new Set(after.map((w) => w.id))
  return before.filter((w) => !still.has(w.id) && !left.has(w.id))
}

/** One line about an invite: its role, whether it asks first, and when it expires or what became of it. */
export function inviteLine(inv: InviteSummary, now: number): string {
  const asks = inv.needsApproval ? 'asks you first' : 'joins without asking'
  const who = inv.byName ?? 'someone'
  const state =
    inv.state === 'open' && inv.expiresAt > now
      ? `expires ${expiresIn(inv.expiresAt, now)}`
      : inv.state === 'used'
        ? `used by ${who}`
        : inv.state === 'declined'
          ? `declined (${who})`
          : inv.state === 'revoked'
            ? 'revoked'
            : 'expired'
  return `${ROLE_LABEL[inv.role]} · ${asks} · ${state}`
}

/** Open invites that have not expired yet, newest first. */
export function openInvites(all: readonly InviteSummary[], now: number): InviteSummary[] {
  return all.filter((i) => i.state === 'open' && i.expiresAt > now).sort((a, b) => b.createdAt - a.createdAt)
}

/** This device was removed from these workspaces (by an admin). */
export function removedMessage(names: readonly string[]): string {
  const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
  return `You are no longer a member of ${list}: an admin removed this device. Its documents stay on this device but are no longer shown; to come back you need a new invite.`
}
