using Chat.Domain.Rooms;
using Chat.Domain.Users;

namespace Chat.Application.Abstractions;

/// <summary>
/// Gives each room's messages their ids, stores them and delivers them to the room's members, in id order. By default
/// a message is stored before anyone sees it (see <see cref="Common.HistoryDurability"/>). A sender does not wait for
/// its message to be stored: messages from one sender keep their order, and if storing fails nobody sees the message
/// and its sender is told (<see cref="IBroadcaster.NotifySender"/>).
/// </summary>
public interface IMessagePublisher
{
    /// <summary>Queues the message; false when no more messages are taken (the server is stopping).</summary>
    ValueTask<bool> PublishAsync(ChatRoom room, ChatMessage message, ConnectionId sender, CancellationToken cancellationToken);

    /// <summary>Waits until every message published before this call is stored and delivered.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}
