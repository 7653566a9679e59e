-- Record how far a running job has come.
-- keys: job; args: done, total
local A = cjson.decode(ARGV[1])
if redis.call('HGET', A.keys.job, 'status') ~= 'running' then return 0 end
redis.call('HSET', A.keys.job, 'progress_done', A.done, 'progress_total', A.total)
return 1
