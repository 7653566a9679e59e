--! uses metrics
-- Admit, record and queue one job in one atomic step: the record and its message appear together or
-- not at all, and a refused job leaves nothing behind but its count against the tenant's rate.
-- keys: job, index (the tenant's), idempotency, queue, queued (the queued jobs' index), submitted,
--       rate_limit (the tenant's window), rate (the queue's minute), depth_lists (the queue's broker
--       lists), mark (one at a time)
-- args: now_s, ttl_s, idempotent, idempotency_value, prune_before, message, series (model|task),
--       rate_limit, rate_window_ttl_s, max_depth (a limit of 0 is none), rate_ttl_s, one_at_a_time,
--       job_prefix, fields
local A = cjson.decode(ARGV[1])
local K = A.keys
if A.idempotent then
  local existing = redis.call('GET', K.idempotency)
  if existing then return {'exists', existing} end
end
if A.rate_limit > 0 then
  local count = redis.call('INCR', K.rate_limit)
  if count == 1 then redis.call('EXPIRE', K.rate_limit, A.rate_window_ttl_s) end
  if count > A.rate_limit then return {'rate_limited', tostring(count)} end
end
if A.max_depth > 0 then
  local depth = 0
  for _, list in ipairs(K.depth_lists) do depth = depth + redis.call('LLEN', list) end
  if depth >= A.max_depth then return {'queue_full', tostring(depth)} end
end
-- One at a time (a model's training): refused while the mark names a job still queued or running.
-- A mark naming a job that ended or expired without releasing it is simply taken over.
if A.one_at_a_time then
  local holder = redis.call('GET', K.mark)
  if holder then
    local info = redis.call('HMGET', A.job_prefix .. holder, 'status', 'tenant')
    if info[1] == 'queued' or info[1] == 'running' then
      return {'train_in_progress', holder, info[2] or ''}
    end
  end
end
local flat = {}
for name, value in pairs(A.fields) do
  flat[#flat + 1] = name
  flat[#flat + 1] = value
end
redis.call('HSET', K.job, unpack(flat))
redis.call('EXPIRE', K.job, A.ttl_s)
if A.one_at_a_time then
  -- finish.lua and cancel.lua release the mark as the job ends. Its TTL is the record's: a shorter one
  -- could free it while the job still waits behind a long heavy queue; once the record is gone nothing
  -- could end the job, so the mark goes with it (and a mark naming an ended job is taken over above).
  redis.call('HSET', K.job, 'mark', K.mark)
  redis.call('SET', K.mark, A.fields.id, 'EX', A.ttl_s)
end
redis.call('ZADD', K.index, 0, A.fields.index_member)
redis.call('ZREMRANGEBYLEX', K.index, '-', '(' .. A.prune_before)
if A.idempotent then redis.call('SET', K.idempotency, A.idempotency_value, 'EX', A.ttl_s) end
if A.message ~= '' then
  redis.call('LPUSH', K.queue, A.message)
  redis.call('ZADD', K.queued, A.now_s, A.fields.id)
end
redis.call('HINCRBY', K.submitted, A.series, 1)
count_rate(K.rate, 'enqueued', nil, A.rate_ttl_s)
return {'created'}
