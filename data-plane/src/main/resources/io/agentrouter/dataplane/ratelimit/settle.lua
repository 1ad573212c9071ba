-- Ends one hold: gives back what was held and records what was really spent.
-- KEYS[1] budget hash, KEYS[2] holds by expiry
-- ARGV: reservation id, actual micro-dollars, key ttl ms
-- Returns the micro-dollars spent so far
local held = tonumber(redis.call('HGET', KEYS[1], 'h:' .. ARGV[1]) or '0')
if held > 0 then
  redis.call('HINCRBY', KEYS[1], 'held', -held)
  redis.call('HDEL', KEYS[1], 'h:' .. ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[1])
local spent = redis.call('HINCRBY', KEYS[1], 'spent', tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return spent
