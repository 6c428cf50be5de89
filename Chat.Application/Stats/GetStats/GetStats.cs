using Chat.Application.Abstractions;
using Mediator;

namespace Chat.Application.Stats.GetStats;

public sealed record GetStatsQuery : IQuery<ChatStats>;

/// <summary>Counts only: statistics never expose who is talking or what was said.</summary>
public sealed record ChatStats(int TotalUsers, int TotalRooms, long TotalMessages, IReadOnlyList<RoomSummary> Rooms);

public sealed record RoomSummary(string RoomId, int UserCount, long MessageCount, DateTimeOffset CreatedAt);

public sealed class GetStatsHandler(IConnectionRegistry registry) : IQueryHandler<GetStatsQuery, ChatStats>
{
    public ValueTask<ChatStats> Handle(GetStatsQuery query, CancellationToken cancellationToken)
    {
        var rooms = registry.Rooms
            .Select(r => new RoomSummary(r.Id.Value, r.MemberCount, r.MessageCount, r.CreatedAt))
            .OrderBy(r => r.RoomId, StringComparer.Ordinal)
            .ToArray();
        var stats = new ChatStats(registry.UserCount, rooms.Length, rooms.Sum(r => r.MessageCount), rooms);
        return ValueTask.FromResult(stats);
    }
}
