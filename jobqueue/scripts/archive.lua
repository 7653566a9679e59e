-- The archive fragment: a transition that ends a job (or changes an ended one) hands it to the
-- archiver in the same atomic step, so no job can end without being queued for the archive.

-- Adds job ``job_id`` (hash ``job``) to the archive stream and keeps its record at least ``hold_s``
-- seconds, so it cannot expire before the archiver has committed it. The entry id is noted in the
-- record: the archiver gives the record its ordinary expiry back only once its newest entry is archived.
local function archive_later(stream, job, job_id, hold_s)
  local entry = redis.call('XADD', stream, '*', 'job', job_id)
  redis.call('HSET', job, 'archive_entry', entry)
  if hold_s > 0 and redis.call('TTL', job) < hold_s then redis.call('EXPIRE', job, hold_s) end
end
