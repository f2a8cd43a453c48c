"""The Lua scripts of :mod:`audience.realtime.stores.redis`: each runs atomically in Redis.

``COMMIT`` writes an event's plan only if the message is unseen and every key read still holds
what was read (else ``dup`` or ``conflict``); ``READ`` fetches in one round trip all an event
touches; ``RELEASE`` gives back a claim on the generation marker.
"""

COMMIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'dup' end
local n, m, k = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, n do
  local v = redis.call('GET', KEYS[2 + i])
  if v == false then v = '' end
  if v ~= ARGV[4 + i] then return 'conflict' end
end
for i = 1, m do redis.call('SET', KEYS[2 + n + i], ARGV[4 + n + i]) end
for i = 1, k do redis.call('DEL', KEYS[2 + n + m + i]) end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[4])
for i = 5 + n + m, #ARGV do redis.call('XADD', KEYS[2], '*', 'change', ARGV[i]) end
return 'ok'
"""
# One round trip to read what an event touches: is it known, its identities, their profiles
# (and the profile its own first identity would key). Returns {seen, ids..., pids..., data...}.
READ = """
local seen = redis.call('EXISTS', KEYS[1])
local n = #KEYS - 1
local ids, pids, seen_pid = {}, {}, {}
for i = 1, n do
  local v = redis.call('GET', KEYS[1 + i])
  if v == false then v = '' end
  ids[i] = v
  if v ~= '' and not seen_pid[v] then seen_pid[v] = true; pids[#pids + 1] = v end
end
if not seen_pid[ARGV[2]] then pids[#pids + 1] = ARGV[2] end
local out = {seen}
for i = 1, n do out[#out + 1] = ids[i] end
for i = 1, #pids do out[#out + 1] = pids[i] end
for i = 1, #pids do
  local d = redis.call('GET', ARGV[1] .. pids[i])
  if d == false then d = '' end
  out[#out + 1] = d
end
return out
"""
# Delete the generation marker only if it still holds the claim being given back.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# COMMIT for a run of one person's events planned one after another from one read: all their
# messages unseen, every key read unchanged, then the final state and every change at once.
# KEYS: changes, msg*j, watched*n, set*m, del*k; ARGV: j, n, m, k, ttl, expected*n, value*m,
# change...
COMMIT_MANY = """
local j, n, m, k = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 1, j do
  if redis.call('EXISTS', KEYS[1 + i]) == 1 then return 'dup' end
end
for i = 1, n do
  local v = redis.call('GET', KEYS[1 + j + i])
  if v == false then v = '' end
  if v ~= ARGV[5 + i] then return 'conflict' end
end
for i = 1, m do redis.call('SET', KEYS[1 + j + n + i], ARGV[5 + n + i]) end
for i = 1, k do redis.call('DEL', KEYS[1 + j + n + m + i]) end
for i = 1, j do redis.call('SET', KEYS[1 + i], '1', 'EX', ARGV[5]) end
for i = 6 + n + m, #ARGV do redis.call('XADD', KEYS[1], '*', 'change', ARGV[i]) end
return 'ok'
"""
