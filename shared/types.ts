/** Domain types shared by the peer and its clients (renderer, CLI). Pure data: no Node, no DOM. */

export const ROLES = ['owner', 'admin', 'editor', 'viewer'] as const
export type Role = (typeof ROLES)[number]

/** Roles that may change documents. */
export const WRITER_ROLES: readonly Role[] = ['owner', 'admin', 'editor']
/** Roles that may invite, add and remove members. */
export const ADMIN_ROLES: readonly Role[] = ['owner', 'admin']

/** This device as people see it. `deviceId` is the libp2p PeerId. */
export interface DeviceInfo {
  deviceId: string
  name: string
  /** Safety words derived from the public key, for people to compare. */
  safetyWords: string
}

export interface WorkspaceInfo {
  id: string
  name: string
  /** This device's role in it. */
  role: Role
  ownerId: string
  createdAt: number
  memberCount: number
}

export interface MemberInfo {
  deviceId: string
  name: string
  role: Role
  safetyWords: string
  addedBy: string
  addedAt: number
  online: boolean
  lastSeen: number | null
  /** True for this device. */
  self: boolean
}

export interface DocumentSummary {
  id: string
  workspaceId: string
  title: string
  createdAt: number
  lastChangeAt: number
  lastChangeBy: string | null
  lastChangeByName: string | null
  deleted: boolean
  /** Changed by a teammate since this device last had it open. */
  unread: boolean
}

export interface PeerInfo {
  peerId: string
  /** The member's display name where the peer is a member of one of our workspaces. */
  name: string | null
  member: boolean
  online: boolean
  addresses: string[]
  lastSeen: number | null
  lastSyncAt: number | null
}

/** What is true of one document's copies, as far as this peer knows. */
export interface DocSyncStatus {
  docId: string
  heads: string[]
  /** Every acknowledged change is in the local database. */
  savedLocally: boolean
  /** Members (other than this device) known to hold exactly these heads or newer. */
  upToDate: string[]
  /** Other members of the workspace. */
  otherMembers: number
  /** Local changes not yet seen by any other member. */
  waitingChanges: number
}

export interface InviteInfo {
  workspaceId: string
  code: string
  link: string
  expiresAt: number
  role: Role
}

export interface NetworkInfo {
  peerId: string
  listenAddresses: string[]
  connections: number
}

/** Where a teammate is and what they have selected; ephemeral, never stored. */
export interface PresenceInfo {
  workspaceId: string
  deviceId: string
  name: string
  /** The document they have open, if any. */
  docId: string | null
  /** Their selection as Automerge cursors into the document's text (stable under concurrent edits). */
  cursor: { anchor: string; head: string } | null
  /** Their clock's offset from UTC in minutes (east positive), for "their local time". */
  utcOffsetMinutes: number
  /** When this was last heard. */
  at: number
}

/** A device asking to join with an invite that needs the inviter's approval. */
export interface JoinRequestInfo {
  requestId: string
  workspaceId: string
  workspaceName: string
  deviceId: string
  name: string
  /** The joiner's safety words: the inviter compares them with what the joiner's screen shows. */
  safetyWords: string
}

/** What an invite code says, read without contacting anyone. */
export interface InviteDetails {
  workspaceId: string
  workspaceName: string
  inviterId: string
  inviterSafetyWords: string
  expiresAt: number
  needsApproval: boolean
  /** This device's own safety words, to read out to the inviter. */
  mySafetyWords: string
}
