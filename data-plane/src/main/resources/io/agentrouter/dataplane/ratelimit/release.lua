-- Ends one admitted request: frees its lease and corrects the token bucket by what it really used.
-- KEYS[1] token bucket, KEYS[2] leases
-- ARGV: tpm, window ms, admission id ('' for none), tokens used minus tokens charged
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tpm = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local delta = tonumber(ARGV[4])
if ARGV[3] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[3])
end
if tpm > 0 and delta ~= 0 then
  local h = redis.call('HMGET', KEYS[1], 'level', 'ts', 'cap')
  local level = tonumber(h[1])
  local ts = tonumber(h[2])
  if level ~= nil and ts ~= nil and tonumber(h[3]) == tpm then
    if now > ts then
      level = math.min(tpm, level + (now - ts) * tpm / window)
    end
    level = math.min(tpm, level - delta)
    redis.call('HSET', KEYS[1], 'level', tostring(level), 'ts', tostring(now))
    redis.call('PEXPIRE', KEYS[1], window * 2)
  end
end
return 1
