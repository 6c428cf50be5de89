using System.Globalization;
using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Chat.Infrastructure.History;
using StackExchange.Redis;

namespace Chat.Infrastructure.Redis;

/// <summary>
/// A room's messages as every server delivers them: the id stream in Redis (its epoch and last id) and its recent
/// messages, which are written in the same step as their publication, so a newcomer's history and the live feed meet
/// without a gap on any server. Older messages, beyond the recent stream, come from the store.
/// </summary>
public sealed class RedisTimeline(IConnectionMultiplexer redis, IMessageStore store, RoomChannels channels) : IRoomTimeline
{
    public async Task<RoomHistory> OpenRoomAsync(RoomId room, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        var database = redis.GetDatabase();
        var meta = await database.HashGetAsync(RedisKeys.Meta(room), ["epoch", "top"]);
        if (meta[0].IsNull || meta[1].IsNull)
        {
            // First use, or Redis lost the room: ids go on from what the store holds, under a new epoch.
            var seed = Math.Max((await store.FindRoomAsync(room, cancellationToken))?.LastId ?? 0, channels.LastDelivered(room));
            meta = (RedisValue[])(await database.ScriptEvaluateAsync(
                RedisScripts.Open, [RedisKeys.Meta(room)], [RoomEpoch.New(), seed]))!;
        }

        // Redis does not count a room's messages; the last id stands in for the count (an upper bound), which is what
        // a welcome needs: whether there is any history to read.
        var top = (long)meta[1];
        return new RoomHistory(room, meta[0]!, top, top, 0, now);
    }

    public async Task<IReadOnlyList<HistoryMessage>> ReadLatestAsync(RoomId room, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        var entries = await redis.GetDatabase().StreamRangeAsync(
            RedisKeys.Stream(room), count: limit, messageOrder: Order.Descending);
        var recent = new List<HistoryMessage>(entries.Length);
        for (var i = entries.Length - 1; i >= 0; i--)
        {
            recent.Add(ToMessage(room, entries[i]));
        }

        if (recent.Count >= limit)
        {
            return recent;
        }

        // The stream holds fewer (a room older than Redis's copy of it): the rest from the store.
        var older = await store.ReadBeforeAsync(room, recent.Count > 0 ? recent[0].Id : long.MaxValue, limit - recent.Count, cancellationToken);
        return [.. older, .. recent];
    }

    public async Task<IReadOnlyList<HistoryMessage>> ReadAfterAsync(
        RoomId room, long afterId, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        var entries = await redis.GetDatabase().StreamRangeAsync(
            RedisKeys.Stream(room), $"{afterId + 1}-0", "+", count: limit);
        var recent = Array.ConvertAll(entries, entry => ToMessage(room, entry));
        if (recent.Length > 0 && recent[0].Id == afterId + 1)
        {
            return recent;
        }

        // What the stream no longer holds may still be stored.
        var firstRecent = recent.Length > 0 ? recent[0].Id : long.MaxValue;
        var older = await store.ReadAfterAsync(room, afterId, limit, cancellationToken);
        return [.. older.Where(m => m.Id < firstRecent), .. recent.Take(limit - older.Count(m => m.Id < firstRecent))];
    }

    /// <summary>A stream entry, id <c>{message id}-1</c>, as the message it holds.</summary>
    internal static HistoryMessage ToMessage(RoomId room, StreamEntry entry)
    {
        var id = entry.Id.ToString();
        return new HistoryMessage(
            room,
            long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), CultureInfo.InvariantCulture),
            entry["u"]!,
            entry["t"]!,
            DateTimeOffset.FromUnixTimeMilliseconds((long)entry["ms"]));
    }
}
