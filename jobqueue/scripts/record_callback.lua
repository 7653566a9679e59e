--! uses archive
-- Record one callback delivery attempt: a compare-and-set on the attempt count, so a duplicate
-- delivery message never starts a second chain of retries. The archive gets the changed record too.
-- keys: job, archive; args: job_id, attempt, at, http_status (absent: none), error (absent: none), delivered,
--       hold_s
local A = cjson.decode(ARGV[1])
local job = A.keys.job
if redis.call('EXISTS', job) == 0 then return 'missing' end
local made = tonumber(redis.call('HGET', job, 'callback_attempts') or '0')
if made ~= A.attempt - 1 or redis.call('HEXISTS', job, 'callback_delivered_at') == 1 then
  return 'stale'
end
redis.call('HSET', job, 'callback_attempts', A.attempt, 'callback_last_attempt_at', A.at)
if A.http_status then redis.call('HSET', job, 'callback_last_status', A.http_status)
else redis.call('HDEL', job, 'callback_last_status') end
if A.error then redis.call('HSET', job, 'callback_last_error', A.error)
else redis.call('HDEL', job, 'callback_last_error') end
if A.delivered then redis.call('HSET', job, 'callback_delivered_at', A.at) end
archive_later(A.keys.archive, job, A.job_id, A.hold_s)
return 'ok'
