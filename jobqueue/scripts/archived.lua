-- The archiver has committed these jobs: give each record back its ordinary expiry (JOB_TTL_S after
-- its creation, at once if that has passed: the archive answers for it now) unless it changed again
-- after the entry archived, and take the entries off the archive stream.
-- keys: stream, jobs (the record of each entry); args: group, entries (in the order of jobs), ttl_s
local A = cjson.decode(ARGV[1])
local K = A.keys
for i, job in ipairs(K.jobs) do
  local entry = A.entries[i]
  local info = redis.call('HMGET', job, 'archive_entry', 'index_member')
  if info[1] == entry then
    redis.call('HDEL', job, 'archive_entry')
    if info[2] then
      -- index_member begins with the creation time in microseconds.
      redis.call('EXPIREAT', job, math.floor(tonumber(string.sub(info[2], 1, 17)) / 1000000) + A.ttl_s)
    else
      redis.call('EXPIRE', job, A.ttl_s)
    end
  end
  redis.call('XACK', K.stream, A.group, entry)
  redis.call('XDEL', K.stream, entry)
end
return #K.jobs
