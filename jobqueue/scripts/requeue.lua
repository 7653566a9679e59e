-- A job whose message is gone goes back to its queue with a new one, in one step.
-- keys: job, running, queue; args: job_id, message
local A = cjson.decode(ARGV[1])
local K = A.keys
local status = redis.call('HGET', K.job, 'status')
redis.call('ZREM', K.running, A.job_id)
if status ~= 'running' and status ~= 'queued' then return status or 'missing' end
redis.call('HSET', K.job, 'status', 'queued')
redis.call('LPUSH', K.queue, A.message)
return 'requeued'
