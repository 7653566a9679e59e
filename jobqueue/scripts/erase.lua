-- Erase the inputs of jobs that ended from their records: the request goes, the result and the error
-- keep only their anonymous part. A job still queued or running is left alone: it needs its input,
-- and the archiver erases it once it has ended.
-- keys: jobs; args: results, errors (JSON texts, in the order of jobs)
local A = cjson.decode(ARGV[1])
local erased = 0
for i, job in ipairs(A.keys.jobs) do
  local status = redis.call('HGET', job, 'status')
  if status == 'succeeded' or status == 'failed' or status == 'canceled' then
    redis.call('HDEL', job, 'request')
    redis.call('HSET', job, 'result', A.results[i], 'error', A.errors[i])
    erased = erased + 1
  end
end
return erased
