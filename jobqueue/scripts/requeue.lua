-- A job whose message is gone goes back to its queue with a new one, in one step.
-- keys: job, running, queued, queue; args: job_id, message, now_s, only_queued (a running job stays)
local A = cjson.decode(ARGV[1])
local K = A.keys
local status = redis.call('HGET', K.job, 'status')
if A.only_queued and status ~= 'queued' then return status or 'missing' end
redis.call('ZREM', K.running, A.job_id)
if status ~= 'running' and status ~= 'queued' then
  redis.call('ZREM', K.queued, A.job_id)
  return status or 'missing'
end
redis.call('HSET', K.job, 'status', 'queued')
redis.call('LPUSH', K.queue, A.message)
redis.call('ZADD', K.queued, A.now_s, A.job_id)
return 'requeued'
