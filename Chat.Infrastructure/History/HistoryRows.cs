using System.Data.Common;
using Chat.Application.Abstractions;
using Chat.Domain.Rooms;

namespace Chat.Infrastructure.History;

/// <summary>
/// Rows as both engines select them, read into the port's records: messages as <c>id, sender, text, sent_at</c>,
/// rooms as <c>room, epoch, last_id, message_count, created_at, first_id</c>; times are Unix milliseconds.
/// </summary>
internal static class HistoryRows
{
    /// <summary>The messages, oldest first; <paramref name="newestFirst"/> says the query returned them the other way.</summary>
    public static async Task<IReadOnlyList<HistoryMessage>> ReadMessagesAsync(
        DbDataReader reader, RoomId room, bool newestFirst, CancellationToken cancellationToken)
    {
        List<HistoryMessage> messages = [];
        while (await reader.ReadAsync(cancellationToken))
        {
            messages.Add(new HistoryMessage(room, reader.GetInt64(0), reader.GetString(1), reader.GetString(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        }

        if (newestFirst)
        {
            messages.Reverse();
        }

        return messages;
    }

    public static async Task<IReadOnlyList<RoomHistory>> ReadRoomsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        List<RoomHistory> rooms = [];
        while (await reader.ReadAsync(cancellationToken))
        {
            rooms.Add(ReadRoom(reader));
        }

        return rooms;
    }

    public static RoomHistory ReadRoom(DbDataReader reader) =>
        new(RoomId.Create(reader.GetString(0)), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3),
            reader.GetInt64(5), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
}
