"""Lua scripts used by the Redis transport.

Every state change that must be atomic runs server-side in one script:

* ``PUBLISH``  resolve the exchange's bindings and push the message to every
  matching queue list (one round trip per publish, always current bindings).
* ``FETCH``    apply a batch of pending acks, then pop up to *count* messages
  and, in the same step, record each one in the unacked hash/index.  A crash
  at any moment either leaves the message in its queue or in the unacked set.
* ``RESTORE``  move expired (or named) unacked messages back to the queue they
  came from, exactly once, however many consumers run it concurrently.
* ``PURGE``    count and delete a set of list keys.

Data layout (compatible with Kombu's):

* queue ``q`` is the list ``q`` (priority step 0) plus ``q<sep><step>`` for
  the other priority steps; producers ``LPUSH``, consumers pop from the right.
* bindings of exchange ``x`` are the set ``_kombu.binding.x`` whose members are
  ``routing_key<sep>pattern<sep>queue``.
* the unacked hash maps ``delivery_tag -> [message, exchange, routing_key]``
  (JSON), the unacked index is a sorted set ``delivery_tag -> delivery time``
  (Redis server clock).  A helper hash next to them holds the list key a
  delivery came from (``<unacked_key>.queues``); entries left there by
  other Kombu versions (which restore without it) are swept by ``RESTORE``.
* a restored message gets ``"redelivered": true`` in its headers (as Kombu
  4.x marks it), added to the stored JSON text without re-encoding it.
* whenever a push makes a list non-empty the script publishes an empty
  "doorbell" message on ``<doorbell prefix><list key>``, so idle consumers
  wait on a socket instead of polling.
"""
from __future__ import annotations

__all__ = ('COMMON', 'PUBLISH', 'FETCH', 'RESTORE', 'PURGE')

#: Helpers shared by the scripts (prepended to each).
COMMON = r'''
local function split3(member, sep)
  local a = string.find(member, sep, 1, true)
  if not a then return nil end
  local b = string.find(member, sep, a + #sep, true)
  if not b then return nil end
  return string.sub(member, 1, a - 1), string.sub(member, a + #sep, b - 1),
         string.sub(member, b + #sep)
end

local function words(s)
  local t = {}
  for w in string.gmatch(s .. '.', '([^.]*)%.') do t[#t + 1] = w end
  return t
end

local function wmatch(p, pi, k, ki)
  while pi <= #p do
    local w = p[pi]
    if w == '#' then
      while pi < #p and p[pi + 1] == '#' do pi = pi + 1 end
      if pi == #p then return true end
      for j = ki, #k + 1 do
        if wmatch(p, pi + 1, k, j) then return true end
      end
      return false
    end
    if ki > #k then return false end
    if w ~= '*' and w ~= k[ki] then return false end
    pi = pi + 1
    ki = ki + 1
  end
  return ki > #k
end

local function topic_match(pattern, key)
  if pattern == key or pattern == '#' then return true end
  return wmatch(words(pattern), 1, words(key), 1)
end

-- queues bound to the exchange whose binding set is bkey, for routing key rk
local function route(bkey, xtype, rk, sep)
  local out, seen = {}, {}
  for _, m in ipairs(redis.call('SMEMBERS', bkey)) do
    local brk, pat, q = split3(m, sep)
    if q and not seen[q] then
      local ok
      if xtype == 'fanout' then ok = true
      elseif xtype == 'topic' then ok = topic_match(brk, rk)
      elseif xtype == 'any' then ok = (brk == rk) or (pat ~= '' and topic_match(brk, rk))
      else ok = (brk == rk) end
      if ok then
        seen[q] = true
        out[#out + 1] = q
      end
    end
  end
  return out
end

local function push(key, msg, left, bell)
  local n
  if left then n = redis.call('LPUSH', key, msg) else n = redis.call('RPUSH', key, msg) end
  if n == 1 and bell ~= '' then redis.call('PUBLISH', bell .. key, '') end
  return n
end

local function server_time()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function remove_tags(hash, index, qhash, tags, first, last)
  local i = first
  while i <= last do
    local j = math.min(last, i + 499)
    redis.call('HDEL', hash, unpack(tags, i, j))
    redis.call('ZREM', index, unpack(tags, i, j))
    redis.call('HDEL', qhash, unpack(tags, i, j))
    i = j + 1
  end
end
'''

#: KEYS: binding set.  ARGV: message, exchange type ('' = default exchange:
#: the routing key names the queue), routing key, sep, key prefix, priority
#: suffix, dead-letter queue ('' = none), doorbell prefix.
#: Returns the number of queues the message was pushed to (-1: dead-lettered).
PUBLISH = COMMON + r'''
local msg, xtype, rk, sep, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local suffix, dlq, bell = ARGV[6], ARGV[7], ARGV[8]
local queues
if xtype == '' then queues = {rk} else queues = route(KEYS[1], xtype, rk, sep) end
local dead = false
if #queues == 0 and dlq ~= '' then
  queues = {dlq}
  dead = true
end
for _, q in ipairs(queues) do push(prefix .. q .. suffix, msg, true, bell) end
if dead then return -1 end
return #queues
'''

#: KEYS: unacked hash, unacked index, queues hash, tag sequence.
#: ARGV: count, number of ack tags A, number of list keys N, invalid-list prefix,
#: round size R, then A tags to acknowledge first, then N pairs (list key,
#: no_ack '0'/'1').  The keys are taken R at a time: one message from each of
#: those in turn until they are empty (R = 1 drains each key in order).
#: Returns a flat list of (key index, delivery tag, raw message, flag) where
#: flag is 1 for a redelivered message (``redelivered`` header; it gets a new
#: tag, so a late ack of its previous delivery can't settle it), 0 otherwise,
#: -1 for data that is not a Kombu message (moved to ``<invalid prefix><list key>``).
FETCH = COMMON + r'''
local hash, index, qhash, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local count, nacks, nkeys = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local invalid = ARGV[4]
local round = math.max(1, tonumber(ARGV[5]))
local base = 5
if nacks > 0 then remove_tags(hash, index, qhash, ARGV, base + 1, base + nacks) end
base = base + nacks
local out, got, now = {}, 0, nil

-- pop one message from pair i into out; false when its list is empty
local function take(i)
  local key, noack = ARGV[base + 2 * i - 1], ARGV[base + 2 * i]
  local raw = redis.call('RPOP', key)
  if not raw then return false end
  got = got + 1
  if noack == '1' then
    out[#out + 1] = i; out[#out + 1] = ''; out[#out + 1] = raw; out[#out + 1] = 0
    return true
  end
  local ok, msg = pcall(cjson.decode, raw)
  local props = ok and type(msg) == 'table' and msg['properties']
  if type(props) ~= 'table' then
    redis.call('LPUSH', invalid .. key, raw)
    redis.call('LTRIM', invalid .. key, 0, 9999)
    out[#out + 1] = i; out[#out + 1] = ''; out[#out + 1] = raw; out[#out + 1] = -1
    return true
  end
  local info = props['delivery_info']
  local ex, rk = '', ''
  if type(info) == 'table' then
    if type(info['exchange']) == 'string' then ex = info['exchange'] end
    if type(info['routing_key']) == 'string' then rk = info['routing_key'] end
  end
  local tag = props['delivery_tag']
  if type(tag) == 'number' then tag = tostring(tag) end
  if type(tag) ~= 'string' or tag == '' then tag = 'r' .. redis.call('INCR', seq) end
  local entry = '[' .. raw .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']'
  local red = 0
  local hdrs = msg['headers']
  if type(hdrs) == 'table' and hdrs['redelivered'] == true then red = 1 end
  if red == 1 or redis.call('HSETNX', hash, tag, entry) == 0 then
    tag = tag .. '.' .. redis.call('INCR', seq)
    redis.call('HSET', hash, tag, entry)
  end
  if not now then now = server_time() end
  redis.call('ZADD', index, now, tag)
  redis.call('HSET', qhash, tag, key)
  out[#out + 1] = i; out[#out + 1] = tag; out[#out + 1] = raw; out[#out + 1] = red
  return true
end

local first = 1
while first <= nkeys and got < count do
  local live = {}
  for i = first, math.min(first + round - 1, nkeys) do live[#live + 1] = i end
  while #live > 0 and got < count do
    local still = {}
    for _, i in ipairs(live) do
      if got >= count then break end
      if take(i) then still[#still + 1] = i end
    end
    live = still
  end
  first = first + round
end
return out
'''

#: KEYS: unacked hash, unacked index, queues hash, mutex.
#: ARGV: mode ('visible' or 'tags'), sep, key prefix, doorbell prefix,
#: leftmost ('1' pushes to the far end), then for 'visible': visibility
#: timeout (s), limit, mutex time (ms, 0 = no gate); for 'tags': number of
#: tags to acknowledge A, the A tags, then the tags to restore.
#: Returns the number of messages restored, or -1 when the mutex gate is shut.
RESTORE = COMMON + r'''
local hash, index, qhash, mutex = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mode, sep, prefix, bell = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local left = ARGV[5] == '1'

-- index of the quote closing the JSON string that opens at s[j] (nil: unterminated)
local function string_end(s, j)
  local k = j + 1
  while true do
    local q = string.find(s, '["\\]', k)
    if not q then return nil end
    if string.sub(s, q, q) == '\\' then k = q + 2 else return q end
  end
end

local function first_object(s, from)
  local i = string.find(s, '{', from or 1, true)
  if not i then return nil end
  local depth, pos = 0, i
  while true do
    local j = string.find(s, '[{}"]', pos)
    if not j then return nil end
    local c = string.sub(s, j, j)
    if c == '"' then
      local k = string_end(s, j)
      if not k then return nil end
      pos = k + 1
    elseif c == '{' then
      depth = depth + 1
      pos = j + 1
    else
      depth = depth - 1
      pos = j + 1
      if depth == 0 then return string.sub(s, i, j) end
    end
  end
end

-- s with "redelivered": true added to its top-level "headers" object
local function mark_redelivered(s)
  local depth, pos = 0, 1
  while true do
    local j = string.find(s, '[{}%[%]"]', pos)
    if not j then return s end
    local c = string.sub(s, j, j)
    if c == '"' then
      local k = string_end(s, j)
      if not k then return s end
      if depth == 1 and string.sub(s, j + 1, k - 1) == 'headers' then
        local b = string.match(s, '^%s*:%s*(){', k + 1)
        if b then
          local obj = first_object(s, b)
          if not obj then return s end
          local e = b + #obj - 1
          local sep = ', '
          if string.find(obj, '^{%s*}$') then sep = '' end
          return string.sub(s, 1, e - 1) .. sep .. '"redelivered": true' .. string.sub(s, e)
        end
      end
      pos = k + 1
    elseif c == '{' or c == '[' then
      depth = depth + 1
      pos = j + 1
    else
      depth = depth - 1
      pos = j + 1
    end
  end
end

local function restore_one(tag)
  local entry = redis.call('HGET', hash, tag)
  local key = redis.call('HGET', qhash, tag)
  redis.call('HDEL', hash, tag)
  redis.call('ZREM', index, tag)
  redis.call('HDEL', qhash, tag)
  if not entry then return 0 end
  local msg = first_object(entry)
  local ok, dec = pcall(cjson.decode, entry)
  if not msg or not ok or type(dec) ~= 'table' then return 0 end
  local targets = {}
  if key then
    targets[1] = key
  else
    local ex, rk = dec[2], dec[3]
    if type(rk) ~= 'string' then rk = '' end
    if type(ex) ~= 'string' or ex == '' then
      targets[1] = prefix .. rk
    else
      for _, q in ipairs(route(prefix .. '_kombu.binding.' .. ex, 'any', rk, sep)) do
        targets[#targets + 1] = prefix .. q
      end
    end
  end
  local hdrs = type(dec[1]) == 'table' and dec[1]['headers']
  if type(hdrs) == 'table' and hdrs['redelivered'] ~= true then msg = mark_redelivered(msg) end
  for _, t in ipairs(targets) do push(t, msg, left, bell) end
  return 1
end

local n = 0
if mode == 'visible' then
  local vt, limit, gate = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
  if gate > 0 then
    if not redis.call('SET', mutex, '1', 'NX', 'PX', gate) then return -1 end
  end
  local ceil = server_time() - vt
  local tags = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. ceil, 'LIMIT', 0, limit)
  -- oldest first; pushing to the consuming end goes newest first so the
  -- restored messages keep their order
  if left then
    for i = 1, #tags do n = n + restore_one(tags[i]) end
  else
    for i = #tags, 1, -1 do n = n + restore_one(tags[i]) end
  end
  -- drop queue entries of deliveries another Kombu version restored or acked
  -- (a sample per run; HRANDFIELD needs Redis 6.2, older servers skip this)
  if redis.call('HLEN', qhash) > redis.call('HLEN', hash) then
    local sample = redis.pcall('HRANDFIELD', qhash, 100)
    if type(sample) == 'table' and not sample.err then
      for _, t in ipairs(sample) do
        if redis.call('HEXISTS', hash, t) == 0 then redis.call('HDEL', qhash, t) end
      end
    end
  end
else
  local nacks = tonumber(ARGV[6])
  if nacks > 0 then remove_tags(hash, index, qhash, ARGV, 7, 6 + nacks) end
  if left then
    for i = 7 + nacks, #ARGV do n = n + restore_one(ARGV[i]) end
  else
    for i = #ARGV, 7 + nacks, -1 do n = n + restore_one(ARGV[i]) end
  end
end
return n
'''

#: KEYS: list keys.  Returns the number of messages deleted.
PURGE = r'''
local n = 0
for _, key in ipairs(KEYS) do
  n = n + redis.call('LLEN', key)
  redis.call('DEL', key)
end
return n
'''
