-- append.lua: write one room frame (an event, from a member or roomctl) to
-- the room's history and publish it, atomically.
-- KEYS: room, members, state, events.
-- ARGV: room, channel, history maxlen, room ttl, frame type, body (fields
-- with leading commas), conn that must be a member ('' for none),
-- '1' when the sender asked for echo=false, '1' when the room must exist.
-- Returns {'ok', seq} or {'not_member'} or {'not_found'}.
-- In C: struct script_append and its reply indices (shared/scripts.h); an argument
-- added here is added there, in the same order.
local room, channel, maxlen = ARGV[1], ARGV[2], ARGV[3]
local ttl = tonumber(ARGV[4])
local conn = ARGV[7]
local refused = check_member(conn, ARGV[9] == '1')
if refused then return refused end
local ts = now_ms()
local seq = emit(room, channel, maxlen, ts, ARGV[5], ARGV[6], ARGV[8] == '1')
refresh_ttl_lazy(ttl, ts)
return {'ok', seq}
