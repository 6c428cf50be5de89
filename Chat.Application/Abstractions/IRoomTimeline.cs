using Chat.Domain.Rooms;

namespace Chat.Application.Abstractions;

/// <summary>
/// A room's messages as its members receive them: where a newcomer's history and a resume are read from. On one
/// server that is the store itself; when servers share rooms it is the shared recent stream, backed by the store.
/// </summary>
public interface IRoomTimeline
{
    /// <summary>The room's stream (epoch, last id); a room never seen is created, empty, with a new random epoch.</summary>
    Task<RoomHistory> OpenRoomAsync(RoomId room, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="limit"/> messages, oldest first.</summary>
    Task<IReadOnlyList<HistoryMessage>> ReadLatestAsync(RoomId room, int limit, CancellationToken cancellationToken);

    /// <summary>The first <paramref name="limit"/> messages with an id above <paramref name="afterId"/>, oldest first.</summary>
    Task<IReadOnlyList<HistoryMessage>> ReadAfterAsync(
        RoomId room, long afterId, int limit, CancellationToken cancellationToken);
}
