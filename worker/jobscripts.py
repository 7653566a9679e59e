"""The Lua scripts behind every job transition; Redis runs each one atomically.

Besides the job hash, the running index (job id scored by when it started)
lists the jobs a worker is running: the reaper reads it to find those whose
message was lost. Transitions also count jobs, waits and durations for
/metrics (worker.jobmetrics) in the same atomic step.
"""
from worker import jobmetrics


CREATE = jobmetrics.LUA + """
-- KEYS: job, tenant's index, tenant's idempotency key, queue list, submitted counter, tenant's rate-limit
--       window, rate hashes (one per job queue), then the queue's broker lists (for its depth)...
-- ARGV: ttl, use_idem, idem_value, index_member, prune_before, task message, model|task, queue,
--       rate limit, rate window ttl, max depth (a limit of 0 is no limit), fields...
if ARGV[2] == '1' then
  local existing = redis.call('GET', KEYS[3])
  if existing then return {'exists', existing} end
end
-- Admission: a refused job leaves nothing behind but its count against the tenant's rate.
local rate_limit = tonumber(ARGV[9])
if rate_limit > 0 then
  local count = redis.call('INCR', KEYS[6])
  if count == 1 then redis.call('EXPIRE', KEYS[6], ARGV[10]) end
  if count > rate_limit then return {'rate_limited', tostring(count)} end
end
local max_depth = tonumber(ARGV[11])
if max_depth > 0 then
  local depth = 0
  for i = 7 + #QUEUE_NAMES, #KEYS do depth = depth + redis.call('LLEN', KEYS[i]) end
  if depth >= max_depth then return {'queue_full', tostring(depth)} end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 12))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
redis.call('ZREMRANGEBYLEX', KEYS[2], '-', '(' .. ARGV[5])
if ARGV[2] == '1' then redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[1]) end
-- The record and its queued message appear together or not at all.
if ARGV[6] ~= '' then redis.call('LPUSH', KEYS[4], ARGV[6]) end
redis.call('HINCRBY', KEYS[5], ARGV[7], 1)
count_rate(7, ARGV[8], 'enqueued')
return {'created'}
"""

START = jobmetrics.LUA + """
-- KEYS: job, running index, queue-wait histogram
-- ARGV: now, max_attempts, now in epoch seconds, worker, job_id
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  redis.call('ZREM', KEYS[2], ARGV[5])
  return {'missing'}
end
if status == 'succeeded' or status == 'failed' or status == 'canceled' then
  redis.call('ZREM', KEYS[2], ARGV[5])
  -- A callback never attempted may never have been queued (the worker stopped right after finishing).
  local unsent = redis.call('HEXISTS', KEYS[1], 'callback_url') == 1
    and redis.call('HGET', KEYS[1], 'callback_attempts') == '0'
  return {'skip', status, unsent and '1' or '0'}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local info = redis.call('HMGET', KEYS[1], 'request', 'model', 'model_version', 'task', 'queue', 'index_member')
if attempts > tonumber(ARGV[2]) then
  -- The crashed attempts' running time is no job duration.
  redis.call('HDEL', KEYS[1], 'started_s')
  return {'give_up', tostring(attempts - 1), info[2], info[3], info[4], info[5]}
end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1], 'started_s', ARGV[3], 'worker', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[5])
local wait = ''
if attempts == 1 then
  -- index_member begins with the creation time in microseconds.
  wait = math.max(0, tonumber(ARGV[3]) - tonumber(string.sub(info[6], 1, 17)) / 1000000)
  observe(KEYS[3], info[5], wait, WAIT_BUCKETS)
end
return {'run', info[1], info[2], info[3], info[4], info[5], tostring(attempts), tostring(wait)}
"""

FINISH = jobmetrics.LUA + """
-- KEYS: job, running index, jobs counter, duration histogram, rate hashes...
-- ARGV: status, finished_at, result, error, channel, now in epoch seconds, share of the pool slot's time, job_id
redis.call('ZREM', KEYS[2], ARGV[8])
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'succeeded' or status == 'failed' or status == 'canceled' then return status end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finished_at', ARGV[2], 'result', ARGV[3], 'error', ARGV[4])
if ARGV[1] == 'succeeded' then
  redis.call('HSET', KEYS[1], 'progress_done', redis.call('HGET', KEYS[1], 'progress_total'))
end
local info = redis.call('HMGET', KEYS[1], 'model', 'task', 'queue', 'started_s')
redis.call('HINCRBY', KEYS[3], info[1] .. '|' .. info[2] .. '|' .. ARGV[1], 1)
local busy = 0
if info[4] then
  busy = math.max(0, tonumber(ARGV[6]) - tonumber(info[4]))
  observe(KEYS[4], info[3] .. '|' .. info[1] .. '|' .. info[2], busy, DURATION_BUCKETS)
end
-- Jobs scored together in one micro-batch each ran the whole batch, but shared one pool slot.
count_rate(5, info[3], 'finished', busy * tonumber(ARGV[7]))
-- Publish the whole final record, so a waiting request needs no read of its own.
local flat, record = redis.call('HGETALL', KEYS[1]), {}
for i = 1, #flat, 2 do record[flat[i]] = flat[i + 1] end
redis.call('PUBLISH', ARGV[5], cjson.encode(record))
if record['callback_url'] then return 'callback' end
return 'ok'
"""

CANCEL = """
-- KEYS: job, running index, jobs counter; ARGV: finished_at, channel, interruptible_queue, job_id
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
local interruptible = status == 'running' and redis.call('HGET', KEYS[1], 'queue') == ARGV[3]
if status ~= 'queued' and not interruptible then return status end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'finished_at', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[4])
local info = redis.call('HMGET', KEYS[1], 'model', 'task')
redis.call('HINCRBY', KEYS[3], info[1] .. '|' .. info[2] .. '|canceled', 1)
redis.call('PUBLISH', ARGV[2], 'canceled')
if redis.call('HEXISTS', KEYS[1], 'callback_url') == 1 then return 'callback' end
return 'ok'
"""

PROGRESS = """
-- KEYS: job; ARGV: done, total
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'progress_done', ARGV[1], 'progress_total', ARGV[2])
return 1
"""

RELEASE = """
-- KEYS: job, running; ARGV: job_id
-- A worker stopping gracefully hands the job back: the attempt did not fail.
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued')
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

REQUEUE = """
-- KEYS: job, running, queue list; ARGV: job_id, task message
-- A job whose message is gone goes back to its queue with a new one, in one step.
local status = redis.call('HGET', KEYS[1], 'status')
redis.call('ZREM', KEYS[2], ARGV[1])
if status ~= 'running' and status ~= 'queued' then return status or 'missing' end
redis.call('HSET', KEYS[1], 'status', 'queued')
redis.call('LPUSH', KEYS[3], ARGV[2])
return 'requeued'
"""
