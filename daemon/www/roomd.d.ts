// roomd.d.ts: the TypeScript declarations of roomd.js, the client library
// roomd serves at /roomd.js (CLIENT.md, PROTOCOL.md).

/** A seq: a Redis stream id, "ms-n"; compare with compareSeq, not as text. */
export type Seq = string;

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] |
    { [key: string]: Json };

export interface Member {
  conn: string;
  user: string | null;
  meta: { [key: string]: Json };
  node: string;
  joined_at: number;
}

export interface From { conn: string | null; user: string | null }

export interface RoomDetails {
  title?: string;
  topic?: string;
  visibility?: "public" | "private";
  max_members?: number;
  created_at?: number;
  locked?: boolean;
  pool?: string;
  filter?: { [key: string]: string | number | boolean };
}

interface FrameBase { room: string; seq: Seq; ts: number }
export interface EventFrame extends FrameBase {
  type: "event"; event: string; data: Json; from: From;
}
export interface MemberJoinedFrame extends FrameBase {
  type: "member_joined"; member: Member;
}
export interface MemberLeftFrame extends FrameBase {
  type: "member_left"; conn: string; user: string | null;
  reason: "leave" | "disconnect" | "evicted" | "node_lost" | string;
}
export interface StateChangedFrame extends FrameBase {
  type: "state_changed"; key: string; value: Json; state_version: number;
  by: From;
}
export interface RoomClosedFrame extends FrameBase {
  type: "room_closed"; reason: string;
}
export interface RoomLockedFrame extends FrameBase {
  type: "room_locked"; locked: boolean; by: From;
}
export type RoomFrame = EventFrame | MemberJoinedFrame | MemberLeftFrame |
    StateChangedFrame | RoomClosedFrame | RoomLockedFrame;
export interface EvictedFrame { type: "evicted"; room: string; reason: string }

export interface Welcome {
  type: "welcome"; conn: string; node: string; user: string | null;
  protocol: number; max_frame: number;
}
export interface DisconnectInfo {
  code: number;
  reason: string;
  willReconnect: boolean;
  /** The HTTP status of a refused upgrade, where the WebSocket tells it. */
  status?: number;
}
export interface ReconnectingInfo { attempt: number; delay: number }

/** An ok reply: { type: "ok", ref, ...result fields }. */
export interface OkFrame { type: "ok"; ref: string | number; [field: string]: any }

export interface ClientOptions {
  /** A token, or a function asked again before every (re)connect. */
  token?: string | null | (() => string | null | Promise<string | null>);
  /** WebSocket constructor; default globalThis.WebSocket. */
  WebSocket?: any;
  /** Backoff with full jitter, or false for no reconnect. */
  reconnect?: { minDelay?: number; maxDelay?: number } | false;
  /** Milliseconds per request; 0 for none. Default 10000. */
  requestTimeout?: number;
}

export interface JoinOptions {
  meta?: { [key: string]: Json };
  create?: {
    title?: string; topic?: string; visibility?: "public" | "private";
    max_members?: number;
  };
}
export interface MatchOptions {
  size: number;
  filter?: { [key: string]: string | number | boolean };
  meta?: { [key: string]: Json };
  create?: { title?: string; topic?: string; visibility?: "public" | "private" };
}
export interface RoomListing {
  room: string; title: string; topic: string; members: number;
  max_members: number; created_at: number; locked?: boolean; pool?: string;
  filter?: { [key: string]: string | number | boolean };
}

/**
 * code: a server error code (bad_request, forbidden, not_member, room_full,
 * conflict, rate_limited, unavailable, ...), or "timeout", "disconnected",
 * or "bad_frame" (the server sent what the library cannot read).
 */
export class RoomdError extends Error {
  constructor(code: string, message?: string, frame?: unknown);
  readonly name: "RoomdError";
  readonly code: string;
  readonly frame?: unknown;
}

/** <0, 0 or >0 as seq a is before, equal to or after seq b. */
export function compareSeq(a: Seq | null, b: Seq | null): number;

interface RoomEvents {
  event: EventFrame;
  member_joined: MemberJoinedFrame;
  member_left: MemberLeftFrame;
  state_changed: StateChangedFrame;
  room_closed: RoomClosedFrame;
  room_locked: RoomLockedFrame;
  evicted: EvictedFrame;
  /** Every room frame, after its own type's handlers. */
  frame: RoomFrame;
  /** Missed frames were replayed after a reconnect (already delivered). */
  recovered: { frames: RoomFrame[] };
  /** History did not reach back: members and state were reloaded. */
  resync: { members: Map<string, Member>; state: Map<string, Json>;
    stateVersion: number };
  /** The room was refused on rejoin (full, forbidden) and dropped. */
  error: RoomdError;
}

export class Room {
  private constructor();
  readonly client: Client;
  readonly id: string;
  readonly meta: { [key: string]: Json } | undefined;
  /** The latest seq seen in the room. */
  readonly seq: Seq | null;
  /** conn -> member, kept current. */
  readonly members: Map<string, Member>;
  /** key -> value, kept current. */
  readonly state: Map<string, Json>;
  readonly stateVersion: number;
  readonly details: RoomDetails;
  /** For a room from match: this match opened it. */
  readonly created: boolean;
  /** False once left, closed, evicted or dropped. */
  readonly joined: boolean;

  /** Add a handler; returns a function that removes it. */
  on<K extends keyof RoomEvents>(name: K, fn: (arg: RoomEvents[K]) => void): () => void;
  off<K extends keyof RoomEvents>(name: K, fn: (arg: RoomEvents[K]) => void): void;
  listeners(name: keyof RoomEvents): number;

  /** Resolves with the event's seq. echo defaults to true. */
  publish(event: string, data?: Json, opts?: { echo?: boolean }): Promise<Seq>;
  /** value null deletes the key; resolves with the new state version. */
  setState(key: string, value: Json, opts?: { ifVersion?: number }): Promise<number>;
  getState(): Promise<{ state: { [key: string]: Json }; stateVersion: number }>;
  history(opts?: { since?: Seq; limit?: number }): Promise<RoomFrame[]>;
  presence(): Promise<Member[]>;
  lock(): Promise<void>;
  unlock(): Promise<void>;
  leave(): Promise<void>;
}

interface ClientEvents {
  welcome: Welcome;
  disconnect: DisconnectInfo;
  reconnecting: ReconnectingInfo;
  /** Bad frames from the server, errors without a ref, handlers that threw. */
  error: Error;
}

export class Client {
  constructor(url: string, opts?: ClientOptions);
  readonly url: string;
  /** The options as given (reconnect filled in with its defaults). */
  token: ClientOptions["token"];
  readonly WebSocket: any;
  readonly reconnect: { minDelay: number; maxDelay: number } | false;
  readonly requestTimeout: number;
  /** The connection id, node and user of the latest welcome. */
  readonly conn: string | null;
  readonly node: string | null;
  readonly user: string | null;
  /** True between a welcome and the socket's close. */
  readonly connected: boolean;
  /** The rooms the client is in: id -> Room. */
  readonly joined: Map<string, Room>;

  on<K extends keyof ClientEvents>(name: K, fn: (arg: ClientEvents[K]) => void): () => void;
  off<K extends keyof ClientEvents>(name: K, fn: (arg: ClientEvents[K]) => void): void;
  listeners(name: keyof ClientEvents): number;

  /** Resolves with the first welcome; rejects when the client gives up. */
  connect(): Promise<Welcome>;
  join(room: string, opts?: JoinOptions): Promise<Room>;
  match(pool: string, opts: MatchOptions): Promise<Room>;
  rooms(opts?: { limit?: number; visibility?: "public" | "private" }): Promise<RoomListing[]>;
  /** Any request; resolves with the ok frame. */
  request(frame: { type: string; [field: string]: any }): Promise<OkFrame>;
  /** Close for good: no reconnect, waiting requests reject. */
  close(): void;
}
