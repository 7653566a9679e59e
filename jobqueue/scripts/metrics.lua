-- The metrics fragment: job counters, histograms and per-minute rates, updated by the transition
-- scripts that include it, in the same atomic step as the state change they count.
-- Histogram buckets are stored per bucket (not cumulative) so one HINCRBY records an observation.

-- Records ``value`` in the histogram ``series`` of hash ``key``, whose bucket bounds are ``bounds``.
local function observe(key, series, value, bounds)
  local slot = #bounds
  for i = 1, #bounds do
    if value <= bounds[i] then slot = i - 1; break end
  end
  redis.call('HINCRBY', key, series .. '|' .. slot, 1)
  redis.call('HINCRBYFLOAT', key, series .. '|sum', value)
end

-- Counts one job in a queue's rate hash of this minute (``field``: enqueued or finished) and, if
-- given, the pool-slot seconds it took; ``key`` is nil for a queue that has no rates (callbacks).
local function count_rate(key, field, busy, ttl_s)
  if not key then return end
  redis.call('HINCRBY', key, field, 1)
  if busy then redis.call('HINCRBYFLOAT', key, 'busy_s', busy) end
  redis.call('EXPIRE', key, ttl_s)
end
