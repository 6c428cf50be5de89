using Chat.Domain.Rooms;
using Chat.Domain.Users;

namespace Chat.Application.Abstractions;

/// <summary>Delivers room events to the room's members. It never waits for a slow recipient.</summary>
public interface IBroadcaster
{
    /// <summary>Queues the event for every member it is news to; a newcomer hears nothing until its welcome.</summary>
    ValueTask PublishAsync(ChatRoom room, ChatEvent chatEvent, CancellationToken cancellationToken);

    /// <summary>
    /// Queues the newcomer's own join notice, then the history it is owed, then the room events that reached it in
    /// the meantime (those already in the history are left out, so nothing comes twice).
    /// </summary>
    ValueTask WelcomeAsync(UserJoined joined, RoomWelcome welcome, CancellationToken cancellationToken);

    /// <summary>Tells one client that something it sent could not be done (an <c>error</c> event to it alone).</summary>
    void NotifySender(ConnectionId connection, string reason);

    /// <summary>Closes a connection whose session another connection has taken over; its departure is not announced.</summary>
    void EndTakenOverSession(ConnectionId connection);
}

/// <summary>
/// What a newcomer learns besides who is present: the room's epoch, its own resume token, the history it is sent,
/// and, when it asked to resume, whether that history is exactly what it missed.
/// </summary>
public sealed record RoomWelcome(
    string Epoch, string ResumeToken, IReadOnlyList<HistoryMessage> History, bool? Recovered = null);
