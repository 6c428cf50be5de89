using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Mediator;

namespace Chat.Application.Stats.GetRoomStats;

public sealed record GetRoomStatsQuery(string RoomId) : IQuery<Result<RoomStats>>;

public sealed record RoomStats(string RoomId, int UserCount, long MessageCount, long JoinCount, DateTimeOffset CreatedAt);

public sealed class GetRoomStatsHandler(IConnectionRegistry registry) : IQueryHandler<GetRoomStatsQuery, Result<RoomStats>>
{
    public ValueTask<Result<RoomStats>> Handle(GetRoomStatsQuery query, CancellationToken cancellationToken)
    {
        if (!Domain.Rooms.RoomId.TryCreate(query.RoomId, out var id) || !registry.TryGetRoom(id, out var room))
        {
            return ValueTask.FromResult(Result.NotFound<RoomStats>($"Room '{query.RoomId}' does not exist."));
        }

        var stats = new RoomStats(room.Id.Value, room.MemberCount, room.MessageCount, room.JoinCount, room.CreatedAt);
        return ValueTask.FromResult(Result.Ok(stats));
    }
}
