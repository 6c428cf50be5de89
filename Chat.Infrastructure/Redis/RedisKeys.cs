using Chat.Domain.Rooms;
using StackExchange.Redis;

namespace Chat.Infrastructure.Redis;

/// <summary>
/// Every Redis key and channel the chat uses (docs/scale-out.md lists them with their lifetimes). A room's keys share
/// the hash tag <c>{room}</c>, so each script touches one slot's keys, plus the replica keys presence checks.
/// </summary>
internal static class RedisKeys
{
    /// <summary>Rooms that may have someone in them, swept for users of servers that died.</summary>
    public static readonly RedisKey Rooms = "chat:rooms";

    /// <summary>What precedes a server's id in the key that says it is alive.</summary>
    public const string ReplicaPrefix = "chat:replica:";

    /// <summary>A hash: <c>epoch</c> (names the id stream) and <c>top</c> (the last id given).</summary>
    public static RedisKey Meta(RoomId room) => $"chat:{{{room.Value}}}:meta";

    /// <summary>A stream of the recent messages, entry id <c>{message id}-1</c>, fields <c>u</c>, <c>t</c>, <c>ms</c>.</summary>
    public static RedisKey Stream(RoomId room) => $"chat:{{{room.Value}}}:stream";

    /// <summary>A hash: upper-cased name → <c>{server}|{connection}|{token hash}|{name}</c>.</summary>
    public static RedisKey Presence(RoomId room) => $"chat:{{{room.Value}}}:presence";

    /// <summary>A sorted set: upper-cased name by order of arrival.</summary>
    public static RedisKey Arrivals(RoomId room) => $"chat:{{{room.Value}}}:arrivals";

    /// <summary>A counter of arrivals, the scores of <see cref="Arrivals"/>.</summary>
    public static RedisKey Joins(RoomId room) => $"chat:{{{room.Value}}}:joins";

    public static RedisKey Replica(string id) => ReplicaPrefix + id;

    /// <summary>Where the room's messages, arrivals, departures and takeovers are published.</summary>
    public static RedisChannel Channel(RoomId room) => RedisChannel.Literal($"chat:{{{room.Value}}}:events");
}
