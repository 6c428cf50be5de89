namespace Chat.Infrastructure.Redis;

/// <summary>
/// The Lua scripts that keep rooms consistent across servers: each runs atomically in Redis, so an id, its place in
/// the recent stream and its publication cannot be separated, and one name has one holder. Channel payloads:
/// <c>M {epoch} {first id} {count}\n{frame}\n…</c> (numbered chat frames), <c>J|L {server} {unix ms} {name}</c>
/// (arrival, departure), <c>T {server}|{connection}</c> (that connection's session was taken over); and, published
/// without a script, <c>Y {server} {unix ms} {name}</c> (typing).
/// </summary>
internal static class RedisScripts
{
    /// <summary>
    /// Opens the room's id stream if it has none: a new epoch, ids continuing from the seed (what the store holds),
    /// so an id is never given twice even when Redis lost the room. KEYS: meta. ARGV: new epoch, seed. Returns
    /// {epoch, top}.
    /// </summary>
    public const string Open = """
        if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
          redis.call('HSET', KEYS[1], 'top', ARGV[2])
        end
        return redis.call('HMGET', KEYS[1], 'epoch', 'top')
        """;

    /// <summary>
    /// Numbers a batch of one room's messages, appends them to the recent stream (capped) and publishes them as one
    /// payload. KEYS: meta, stream, channel. ARGV: new epoch, seed, stream cap, lifetime ms, count, then per message:
    /// sender, text, unix ms, its frame up to <c>"id":</c>. Returns {first id, epoch}.
    /// </summary>
    public const string Publish = """
        if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
          redis.call('HSET', KEYS[1], 'top', ARGV[2])
        end
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        local n = tonumber(ARGV[5])
        local top = redis.call('HINCRBY', KEYS[1], 'top', n)
        local first = top - n + 1
        local frames = {}
        for i = 0, n - 1 do
          local a = 6 + i * 4
          local id = first + i
          redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id .. '-1', 'u', ARGV[a], 't', ARGV[a + 1], 'ms', ARGV[a + 2])
          frames[#frames + 1] = ARGV[a + 3] .. id .. '}'
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('PEXPIRE', KEYS[2], ARGV[4])
        redis.call('PUBLISH', KEYS[3], 'M ' .. epoch .. ' ' .. first .. ' ' .. n .. '\n' .. table.concat(frames, '\n'))
        return {first, epoch}
        """;

    /// <summary>
    /// Claims a name. A holder whose server is dead is let go (and announced as left); a live holder keeps it unless
    /// the claimant presents that session's token, which takes it over. KEYS: presence, arrivals, channel, rooms,
    /// joins, this server's liveness key. ARGV: name key, entry, presented token hash (or empty), room id, unix ms,
    /// replica key prefix, display name, this server's id, liveness ms. Returns {outcome, present names…}.
    /// </summary>
    public const string Claim = """
        redis.call('SET', KEYS[6], '1', 'PX', ARGV[9])
        local current = redis.call('HGET', KEYS[1], ARGV[1])
        local outcome = 'claimed'
        if current then
          local server, connection, token, name = string.match(current, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
          if redis.call('EXISTS', ARGV[6] .. server) == 1 then
            if ARGV[3] ~= '' and token == ARGV[3] then
              outcome = 'takenover'
              redis.call('PUBLISH', KEYS[3], 'T ' .. server .. '|' .. connection)
            else
              return {'taken'}
            end
          else
            redis.call('HDEL', KEYS[1], ARGV[1])
            redis.call('ZREM', KEYS[2], ARGV[1])
            redis.call('PUBLISH', KEYS[3], 'L ' .. server .. ' ' .. ARGV[5] .. ' ' .. name)
          end
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        if outcome == 'claimed' then
          redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[5]), ARGV[1])
          redis.call('SADD', KEYS[4], ARGV[4])
          redis.call('PUBLISH', KEYS[3], 'J ' .. ARGV[8] .. ' ' .. ARGV[5] .. ' ' .. ARGV[7])
        end
        local result = {outcome}
        local keys = redis.call('ZRANGE', KEYS[2], 0, -1)
        for first = 1, #keys, 1000 do
          local entries = redis.call('HMGET', KEYS[1], unpack(keys, first, math.min(first + 999, #keys)))
          for _, entry in ipairs(entries) do
            if entry then
              result[#result + 1] = string.match(entry, '^[^|]*|[^|]*|[^|]*|(.*)$')
            end
          end
        end
        return result
        """;

    /// <summary>
    /// Lets a name go if the given connection still holds it, and announces the departure. KEYS: presence, arrivals,
    /// channel. ARGV: name key, {server}|{connection}, unix ms, display name, this server's id. Returns 1 or 0.
    /// </summary>
    public const string Release = """
        local current = redis.call('HGET', KEYS[1], ARGV[1])
        if current and string.sub(current, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then
          redis.call('HDEL', KEYS[1], ARGV[1])
          redis.call('ZREM', KEYS[2], ARGV[1])
          redis.call('PUBLISH', KEYS[3], 'L ' .. ARGV[5] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
          return 1
        end
        return 0
        """;

    /// <summary>
    /// Lets go of every name in the room whose server is dead, announcing each as left, and forgets an empty room.
    /// KEYS: presence, arrivals, channel, rooms. ARGV: room id, replica key prefix, unix ms. Returns how many went.
    /// </summary>
    public const string Sweep = """
        local entries = redis.call('HGETALL', KEYS[1])
        local alive = {}
        local gone = 0
        for i = 1, #entries, 2 do
          local server, name = string.match(entries[i + 1], '^([^|]*)|[^|]*|[^|]*|(.*)$')
          if alive[server] == nil then
            alive[server] = redis.call('EXISTS', ARGV[2] .. server) == 1
          end
          if not alive[server] then
            redis.call('HDEL', KEYS[1], entries[i])
            redis.call('ZREM', KEYS[2], entries[i])
            redis.call('PUBLISH', KEYS[3], 'L ' .. server .. ' ' .. ARGV[3] .. ' ' .. name)
            gone = gone + 1
          end
        end
        if redis.call('HLEN', KEYS[1]) == 0 then
          redis.call('SREM', KEYS[4], ARGV[1])
        end
        return gone
        """;
}
