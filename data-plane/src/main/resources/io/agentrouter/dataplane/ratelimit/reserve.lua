-- Holds part of a budget for one request, atomically, on Redis server time.
-- KEYS[1] budget (hash: spent, held, and one field 'h:<id>' per hold with its amount)
-- KEYS[2] holds by expiry (sorted set: member = reservation id, score = ms it expires)
-- ARGV: limit micro-dollars, amount micro-dollars, reservation id, hold ms, key ttl ms,
--       optional floor: spend the control plane has recorded (raises 'spent' to at least this)
-- Returns {1 if held else 0, micro-dollars still free after this hold, spent, held}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
-- Holds of data planes that died before settling free their amount.
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(expired) do
  local held = tonumber(redis.call('HGET', KEYS[1], 'h:' .. id) or '0')
  redis.call('HINCRBY', KEYS[1], 'held', -held)
  redis.call('HDEL', KEYS[1], 'h:' .. id)
  redis.call('ZREM', KEYS[2], id)
end
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local floor = tonumber(ARGV[6] or '0')
if floor > spent then
  -- Spend recorded by the control plane that this region's counter has not seen (for example
  -- before Redis was used, or after a hold expired unsettled): never forget it.
  redis.call('HSET', KEYS[1], 'spent', floor)
  spent = floor
end
local held = tonumber(redis.call('HGET', KEYS[1], 'held') or '0')
local free = limit - spent - held
if amount > free then
  return {0, math.max(0, free), spent, held}
end
redis.call('HINCRBY', KEYS[1], 'held', amount)
redis.call('HSET', KEYS[1], 'h:' .. ARGV[3], amount)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]))
return {1, free - amount, spent, held + amount}
