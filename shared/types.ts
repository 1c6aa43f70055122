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
