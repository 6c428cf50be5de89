using Chat.Application.Abstractions;
using Chat.Application.Common;
using Mediator;

namespace Chat.Application.Stats.GetRoomStats;

public sealed record GetRoomStatsQuery(string RoomId) : IQuery<Result<RoomStats>>;

public sealed record RoomStats(string RoomId, int UserCount, long MessageCount, long JoinCount, DateTimeOffset CreatedAt);

/// <summary>A room exists while someone is in it or while its history is kept (see <see cref="GetStats.GetStatsHandler"/>).</summary>
public sealed class GetRoomStatsHandler(IConnectionRegistry registry, IRoomPresence presence, IMessageStore store)
    : IQueryHandler<GetRoomStatsQuery, Result<RoomStats>>
{
    public async ValueTask<Result<RoomStats>> Handle(GetRoomStatsQuery query, CancellationToken cancellationToken)
    {
        if (!Domain.Rooms.RoomId.TryCreate(query.RoomId, out var id))
        {
            return NotFound(query.RoomId);
        }

        var history = await store.FindRoomAsync(id, cancellationToken);
        var users = await presence.CountAsync(id, cancellationToken);
        if (registry.TryGetRoom(id, out var room))
        {
            return Result.Ok(new RoomStats(
                room.Id.Value, users, history?.MessageCount ?? room.MessageCount, room.JoinCount,
                history?.CreatedAt ?? room.CreatedAt));
        }

        // Joins are counted by the server they happened on; elsewhere only who is there now is known.
        return users > 0 || history is { MessageCount: > 0 }
            ? Result.Ok(new RoomStats(id.Value, users, history?.MessageCount ?? 0, 0, history?.CreatedAt ?? DateTimeOffset.UnixEpoch))
            : NotFound(query.RoomId);
    }

    private static Result<RoomStats> NotFound(string roomId) => Result.NotFound<RoomStats>($"Room '{roomId}' does not exist.");
}
