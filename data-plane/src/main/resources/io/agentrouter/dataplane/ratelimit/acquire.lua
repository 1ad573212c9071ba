-- One admission check for one key, atomically, on Redis server time.
-- KEYS[1] requests log (sorted set: member = admission id, score = ms it was admitted)
-- KEYS[2] token bucket (hash: level, ts in ms, cap)
-- KEYS[3] leases of requests in flight (sorted set: member = admission id, score = ms it expires)
-- ARGV: rpm, tpm, concurrency, estimated tokens, admission id, lease ms, window ms, backfill
-- Returns {denied ('' when admitted), retry ms, remaining requests, reset requests ms,
--          remaining tokens, reset tokens ms}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local conc = tonumber(ARGV[3])
local cost = math.min(tonumber(ARGV[4]), tpm)
local id = ARGV[5]
local lease = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
local backfill = math.min(tonumber(ARGV[8]), rpm)

local denied = ''
local retry = 0
local used = 0
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  -- Admissions a data plane made from its local buckets while Redis was away.
  for i = 1, backfill do
    redis.call('ZADD', KEYS[1], now, id .. ':b' .. i)
  end
  used = redis.call('ZCARD', KEYS[1])
  if used >= rpm then
    denied = 'requests'
    local freeing = redis.call('ZRANGE', KEYS[1], used - rpm, used - rpm, 'WITHSCORES')
    retry = tonumber(freeing[2]) + window - now
  end
end

local level = 0
if tpm > 0 then
  local h = redis.call('HMGET', KEYS[2], 'level', 'ts', 'cap')
  level = tonumber(h[1])
  local ts = tonumber(h[2])
  if level == nil or ts == nil or tonumber(h[3]) ~= tpm then
    level = tpm
    ts = now
  end
  if now > ts then
    level = math.min(tpm, level + (now - ts) * tpm / window)
  end
  local need = math.max(cost, 1)
  if denied == '' and level < need then
    denied = 'tokens'
    retry = math.ceil((need - level) * window / tpm)
  end
end

if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if denied == '' and redis.call('ZCARD', KEYS[3]) >= conc then
    denied = 'concurrency'
    retry = 1000
  end
end

if denied == '' then
  if rpm > 0 then
    redis.call('ZADD', KEYS[1], now, id)
    used = used + 1
  end
  if tpm > 0 then
    level = level - cost
  end
  if conc > 0 then
    redis.call('ZADD', KEYS[3], now + lease, id)
    redis.call('PEXPIRE', KEYS[3], lease)
  end
end

local resetRequests = 0
if rpm > 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if newest[2] then
    resetRequests = math.max(0, tonumber(newest[2]) + window - now)
  end
end
local resetTokens = 0
if tpm > 0 then
  redis.call('HSET', KEYS[2], 'level', tostring(level), 'ts', tostring(now), 'cap', tostring(tpm))
  redis.call('PEXPIRE', KEYS[2], window * 2)
  resetTokens = math.ceil((tpm - level) * window / tpm)
end
return {denied, math.ceil(retry), math.max(0, rpm - used), math.ceil(resetRequests),
        math.floor(level), resetTokens}
