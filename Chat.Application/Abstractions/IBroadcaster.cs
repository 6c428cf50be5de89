using Chat.Domain.Rooms;

namespace Chat.Application.Abstractions;

/// <summary>Delivers room events to the room's members. It never waits for a slow recipient.</summary>
public interface IBroadcaster
{
    ValueTask PublishAsync(ChatRoom room, ChatEvent chatEvent, CancellationToken cancellationToken);
}
