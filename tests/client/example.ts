// example.ts: the API of CLIENT.md written out, type-checked by
// client.bats (tsc --strict) against roomd.d.ts as roomd serves it. It is
// never run.
import { Client, Room, RoomdError, compareSeq } from "./roomd.js";
import type { Member, RoomFrame, DisconnectInfo, Welcome } from "./roomd.js";

export async function example(WebSocketImpl: unknown): Promise<void> {
  const client = new Client("ws://127.0.0.1:7700/ws", {
    token: () => fetch("/token").then((r) => r.text()),
    WebSocket: WebSocketImpl,
    reconnect: { minDelay: 250, maxDelay: 10000 },
    requestTimeout: 10000,
  });
  client.on("welcome", (w: Welcome) => console.log(w.conn, w.node, w.user));
  client.on("disconnect", (info: DisconnectInfo) =>
    console.log(info.code, info.reason, info.willReconnect, info.status));
  client.on("reconnecting", (info) => console.log(info.attempt, info.delay));
  client.on("error", (e) => console.log(e.message));
  const welcome: Welcome = await client.connect();
  console.log(welcome.max_frame);

  const room: Room = await client.join("lobby", {
    meta: { side: "red" }, create: { title: "Draft", max_members: 2 },
  });
  const game = await client.match("duel", { size: 2, filter: { mode: "ranked" } });
  const created: boolean = game.created;
  const id: string = room.id;
  const seq: string | null = room.seq;
  const members: Map<string, Member> = room.members;
  const turn = room.state.get("turn");
  const version: number = room.stateVersion;
  const title: string | undefined = room.details.title;
  console.log(created, id, seq, members.size, turn, version, title);

  room.on("event", (f) => console.log(f.event, f.data, f.from.conn));
  room.on("member_joined", (f) => console.log(f.member.conn));
  room.on("member_left", (f) => console.log(f.conn, f.reason));
  room.on("state_changed", (f) => console.log(f.key, f.value, f.state_version));
  room.on("room_closed", (f) => console.log(f.reason));
  room.on("room_locked", (f) => console.log(f.locked, f.by.user));
  room.on("evicted", (f) => console.log(f.reason));
  room.on("frame", (f: RoomFrame) => console.log(f.type, f.seq));
  room.on("recovered", ({ frames }) => console.log(frames.length));
  room.on("resync", () => console.log("reloaded"));
  const off = room.on("error", (e: RoomdError) => console.log(e.code));
  off();

  const s: string = await room.publish("pick", { hero: "axe" }, { echo: true });
  const v: number = await room.setState("turn", "blue", { ifVersion: room.stateVersion });
  const events: RoomFrame[] = await room.history({ since: s, limit: 10 });
  const who: Member[] = await room.presence();
  await room.lock();
  await room.unlock();
  await room.leave();
  const rooms = await client.rooms({ limit: 20 });
  const ok = await client.request({ type: "ping" });
  console.log(v, events.length, who.length, rooms[0]?.room, ok.ref,
    compareSeq(s, room.seq));
  try {
    await room.publish("x");
  } catch (e) {
    if (e instanceof RoomdError && (e.code === "timeout" || e.code === "disconnected"))
      console.log(e.message);
  }
  client.close();
}
