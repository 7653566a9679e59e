-- A worker stopping gracefully hands a running job back to the queue: the attempt did not fail.
-- keys: job, running, queued; args: job_id, now_s
local A = cjson.decode(ARGV[1])
local K = A.keys
if redis.call('HGET', K.job, 'status') ~= 'running' then return 0 end
redis.call('HSET', K.job, 'status', 'queued')
redis.call('HINCRBY', K.job, 'attempts', -1)
redis.call('ZREM', K.running, A.job_id)
redis.call('ZADD', K.queued, A.now_s, A.job_id)
return 1
