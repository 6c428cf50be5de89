using Chat.Domain.Rooms;

namespace Chat.Application.Abstractions;

/// <summary>
/// Gives each room's messages their ids, stores them and delivers them to the room's members, in id order. By default
/// a message is stored before anyone sees it (see <see cref="Common.HistoryDurability"/>).
/// </summary>
public interface IMessagePublisher
{
    /// <summary>The message as delivered, with its id; null when it could not be stored and so was not delivered.</summary>
    ValueTask<ChatMessage?> PublishAsync(ChatRoom room, ChatMessage message, CancellationToken cancellationToken);

    /// <summary>Waits until every message published before this call is stored and delivered.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}
