using Chat.Application.Abstractions;
using Mediator;

namespace Chat.Application.Stats.GetStats;

public sealed record GetStatsQuery : IQuery<ChatStats>;

/// <summary>Counts only: statistics never expose who is talking or what was said.</summary>
public sealed record ChatStats(int TotalUsers, int TotalRooms, long TotalMessages, IReadOnlyList<RoomSummary> Rooms);

public sealed record RoomSummary(string RoomId, int UserCount, long MessageCount, DateTimeOffset CreatedAt);

/// <summary>
/// The rooms people are in, and the rooms whose history is still kept although nobody is there: a room outlives its
/// members until retention has deleted its last message. Message counts are the stored ones.
/// </summary>
public sealed class GetStatsHandler(IConnectionRegistry registry, IRoomPresence presence, IMessageStore store)
    : IQueryHandler<GetStatsQuery, ChatStats>
{
    public async ValueTask<ChatStats> Handle(GetStatsQuery query, CancellationToken cancellationToken)
    {
        var stored = (await store.ListRoomsAsync(cancellationToken)).ToDictionary(r => r.Room.Value, StringComparer.Ordinal);
        var occupied = (await presence.ListOccupiedAsync(cancellationToken)).ToDictionary(r => r.Room.Value, r => r.UserCount, StringComparer.Ordinal);
        var rooms = new Dictionary<string, RoomSummary>(StringComparer.Ordinal);
        foreach (var room in registry.Rooms)
        {
            var history = stored.GetValueOrDefault(room.Id.Value);
            rooms[room.Id.Value] = new RoomSummary(
                room.Id.Value, occupied.GetValueOrDefault(room.Id.Value), history?.MessageCount ?? room.MessageCount,
                history?.CreatedAt ?? room.CreatedAt);
        }

        // Rooms people are in on other servers only.
        foreach (var (id, users) in occupied)
        {
            if (!rooms.ContainsKey(id))
            {
                var history = stored.GetValueOrDefault(id);
                rooms[id] = new RoomSummary(id, users, history?.MessageCount ?? 0, history?.CreatedAt ?? DateTimeOffset.UnixEpoch);
            }
        }

        foreach (var history in stored.Values)
        {
            if (history.MessageCount > 0 && !rooms.ContainsKey(history.Room.Value))
            {
                rooms[history.Room.Value] = new RoomSummary(history.Room.Value, 0, history.MessageCount, history.CreatedAt);
            }
        }

        var ordered = rooms.Values.OrderBy(r => r.RoomId, StringComparer.Ordinal).ToArray();
        return new ChatStats(ordered.Sum(r => r.UserCount), ordered.Length, ordered.Sum(r => r.MessageCount), ordered);
    }
}
