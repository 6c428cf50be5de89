using Chat.Application.Abstractions;
using Chat.Domain.Rooms;

namespace Chat.Infrastructure.History;

/// <summary>One room's share of an appended batch: what its row needs to advance in one statement.</summary>
internal sealed record RoomTally(RoomId Room, long FirstId, long LastId, int Count, DateTimeOffset FirstSentAt)
{
    /// <summary>Sums a batch up per room, in order of first appearance; ids must increase within each room.</summary>
    public static List<RoomTally> ByRoom(IReadOnlyList<HistoryMessage> batch)
    {
        List<RoomTally> rooms = [];
        Dictionary<RoomId, int> index = [];
        foreach (var message in batch)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(batch));
            if (!index.TryGetValue(message.Room, out var i))
            {
                index.Add(message.Room, rooms.Count);
                rooms.Add(new RoomTally(message.Room, message.Id, message.Id, 1, message.SentAt));
                continue;
            }

            var tally = rooms[i];
            if (message.Id <= tally.LastId)
            {
                throw new ArgumentException(
                    $"Message ids must increase within room {message.Room}: {message.Id} follows {tally.LastId}.",
                    nameof(batch));
            }

            rooms[i] = tally with { LastId = message.Id, Count = tally.Count + 1 };
        }

        return rooms;
    }

    public InvalidOperationException StaleIds() =>
        new($"Message id {FirstId} is not above room {Room}'s last id: ids are never reused or reordered.");
}
