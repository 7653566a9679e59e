--! uses metrics
-- Move a delivered job to running, unless it is finished, canceled or has failed too often.
-- keys: job, running (job ids scored by start time), queued, wait_histogram
-- args: job_id, worker, now (ISO time), now_s (epoch seconds, as text), max_attempts, wait_buckets
local A = cjson.decode(ARGV[1])
local K = A.keys
-- Delivered: whatever happens next, its message reached a worker.
redis.call('ZREM', K.queued, A.job_id)
local status = redis.call('HGET', K.job, 'status')
if not status then
  redis.call('ZREM', K.running, A.job_id)
  return {'missing'}
end
if status == 'succeeded' or status == 'failed' or status == 'canceled' then
  redis.call('ZREM', K.running, A.job_id)
  -- A callback never attempted may never have been queued (the worker stopped right after finishing).
  local unsent = redis.call('HEXISTS', K.job, 'callback_url') == 1
    and redis.call('HGET', K.job, 'callback_attempts') == '0'
  return {'skip', status, unsent and '1' or '0'}
end
local attempts = redis.call('HINCRBY', K.job, 'attempts', 1)
local info = redis.call('HMGET', K.job, 'request', 'model', 'model_version', 'task', 'queue', 'index_member')
if attempts > A.max_attempts then
  -- The crashed attempts' running time is no job duration.
  redis.call('HDEL', K.job, 'started_s')
  return {'give_up', tostring(attempts - 1), info[2], info[3], info[4], info[5]}
end
redis.call('HSET', K.job, 'status', 'running', 'started_at', A.now, 'started_s', A.now_s, 'worker', A.worker)
redis.call('ZADD', K.running, A.now_s, A.job_id)
local wait = ''
if attempts == 1 then
  -- index_member begins with the creation time in microseconds.
  wait = math.max(0, tonumber(A.now_s) - tonumber(string.sub(info[6], 1, 17)) / 1000000)
  observe(K.wait_histogram, info[5], wait, A.wait_buckets)
end
return {'run', info[1], info[2], info[3], info[4], info[5], tostring(attempts), tostring(wait)}
