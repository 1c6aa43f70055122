/** Hard limits on everything that crosses a boundary. Sizes are checked before decoding. */

/** One Automerge change as it arrives from a renderer or a peer. */
export const MAX_CHANGE_BYTES = 256 * 1024
/** Changes in one run (sync/runs.ts): a run is also at most MAX_CHANGE_BYTES, sealed. */
export const MAX_RUN_CHANGES = 65_536
/**
 * Changes in one cover (sync/covers.ts): its covered hashes travel in clear, 32 bytes each, so a cover is
 * at most 128 KiB of them besides its sealed bundle.
 */
export const MAX_COVER_CHANGES = 4096
/** A cover's deps references (`kd`): a few bytes a change; beyond this it is refused unread. */
export const MAX_COVER_DEPS_BYTES = MAX_COVER_CHANGES * 16
/** Changes in one request or one gossip bundle. */
export const MAX_CHANGES_PER_MESSAGE = 512
/** One gossip message (envelope bundle). Gossipsub itself drops frames over 4 MiB silently. */
export const MAX_GOSSIP_MESSAGE_BYTES = 1024 * 1024
/** Gossipsub's inbound decoder limit; a little above our own cap so ours gives the clear error. */
export const GOSSIPSUB_MAX_INBOUND_BYTES = 2 * 1024 * 1024
/** One frame of the catch-up or join protocol. */
export const MAX_STREAM_FRAME_BYTES = 4 * 1024 * 1024
/** One request from a client (renderer, CLI over the control socket). */
export const MAX_CLIENT_MESSAGE_BYTES = 8 * 1024 * 1024
/** A document's title. */
export const MAX_TITLE_CHARS = 200
/** A document's text set in one call. */
export const MAX_TEXT_CHARS = 4 * 1024 * 1024
/** Display names of people, devices and workspaces. */
export const MAX_NAME_CHARS = 64
/** One signed membership op; an epoch op carries a lockbox (about 140 bytes) per reading device. */
export const MAX_OP_BYTES = 32 * 1024
/** Devices an epoch or grant op seals the workspace key to. */
export const MAX_LOCKBOXES_PER_OP = 200
/** Documents listed in one catch-up summary frame. */
export const MAX_SUMMARY_DOCS = 50_000
/** Documents in one gossiped heads announcement; catch-up carries the rest. */
export const MAX_HEADS_ANNOUNCED_DOCS = 1024
/** Members one `reach` message may name (sync/reach.ts): the teammates its sender is connected to. */
export const MAX_REACH_LISTED = 1024
/** Heads of one document (concurrent branches). */
export const MAX_HEADS = 256
/** An invite code as pasted by a person. */
export const MAX_INVITE_CODE_CHARS = 4096
/** Addresses carried by an invite. */
export const MAX_INVITE_ADDRS = 16
/** Addresses one device announces to its teammates (net/address-book.ts): direct, mapped and relayed. */
export const MAX_ANNOUNCED_ADDRS = 16
/** One multiaddr as text; a relayed one names two peers (~170 characters). */
export const MAX_ADDRESS_CHARS = 320
/** Address records in one frame: every device of every workspace two members share. */
export const MAX_ADDRESS_RECORDS = 512
/** Documents listed per teammate as not caught up (`peer.list`); the count says how many in all. */
export const MAX_BEHIND_LISTED = 20
/** Documents a `doc.list` event names (more changed at once: the event names none, and the whole listing is stale). */
export const MAX_LIST_EVENT_DOCS = 100
/** Documents one `doc.list` request may name (`docIds`: only those rows). */
export const MAX_LIST_REQUEST_DOCS = 1000
/** Documents one search returns at most. */
export const MAX_SEARCH_RESULTS = 50
/** The longest search a person can type (characters). */
export const MAX_SEARCH_QUERY_CHARS = 256
/** Editing sessions one `doc.history` returns at most (older ones: ask again with `before`). */
export const MAX_HISTORY_SESSIONS = 200
/** How a version is named: a change hash, or at least this many of its first hex digits. */
export const MIN_VERSION_CHARS = 6
/** How long a new invite stays valid unless asked otherwise. */
export const DEFAULT_INVITE_TTL_MS = 24 * 60 * 60 * 1000
/** The longest an invite may live: a leaked code stops working within a week. */
export const MAX_INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000
/** Invites one `invite.list` answers with (the newest). */
export const MAX_LISTED_INVITES = 200
/** Columns a board shows (shared/board.ts); a reader puts the cards of any beyond into the first. */
export const MAX_BOARD_COLUMNS = 50
/** Cards a board holds; a reader shows the first this many by id and counts the rest. */
export const MAX_BOARD_CARDS = 5000
/** A card's title. */
export const MAX_CARD_TITLE_CHARS = 500
/** A card's description. */
export const MAX_CARD_DESCRIPTION_CHARS = 20_000
/** Labels on one card, and the length of one. */
export const MAX_CARD_LABELS = 20
export const MAX_LABEL_CHARS = 40
/**
 * The text of a board's cards in one view (titles, descriptions, labels), so that a view stays well under
 * a client frame (MAX_CLIENT_MESSAGE_BYTES) however a member filled the board; cards past it are clipped
 * (CLIPPED_TITLE_CHARS of their title kept). At most about 1.5 M characters in all.
 */
export const MAX_BOARD_TEXT_CHARS = 1_000_000
/** What is kept of the title of a clipped card. */
export const CLIPPED_TITLE_CHARS = 100
/** One order key of a card or column (shared/board-position.ts); longer ones are re-keyed. */
export const MAX_POSITION_CHARS = 64
/** Cards one `tasks.mine` lists at most (the first, boards by title). */
export const MAX_LISTED_TASKS = 1000
