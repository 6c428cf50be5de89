using System.Collections.Concurrent;
using System.Diagnostics;
using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Protocol;
using Chat.Infrastructure.Telemetry;

namespace Chat.Infrastructure.Realtime;

/// <summary>
/// Fans room events out to the members' outboxes: each event is encoded once and the same bytes are queued for
/// every member. Queuing never waits; a member whose outbox is full is disconnected by its own connection.
/// </summary>
public sealed class ChatBroadcaster(ChatTelemetry telemetry) : IBroadcaster
{
    private readonly ConcurrentDictionary<ConnectionId, ClientOutbox> outboxes = new();

    /// <summary>Makes a connection reachable; it receives room events once its join has been announced.</summary>
    public void Attach(ClientOutbox outbox)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        if (!outboxes.TryAdd(outbox.Connection, outbox))
        {
            throw new InvalidOperationException($"Connection {outbox.Connection} is already attached.");
        }
    }

    public void Detach(ConnectionId connection) => outboxes.TryRemove(connection, out _);

    public ValueTask PublishAsync(ChatRoom room, ChatEvent chatEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(chatEvent);
        var start = Stopwatch.GetTimestamp();
        var delivered = 0;
        var frame = ChatEventSerializer.Serialize(chatEvent);
        var newcomer = chatEvent is UserJoined joined ? joined.User.Connection : default(ConnectionId?);
        var messageId = chatEvent is ChatMessage message ? message.Id : 0;
        var members = room.Members;
        for (var i = 0; i < members.Count; i++)
        {
            var member = members[i];
            var connection = member.Connection;
            if (connection != newcomer && IsNewsTo(chatEvent, member) && outboxes.TryGetValue(connection, out var outbox))
            {
                delivered += outbox.TrySendRoomEvent(frame, messageId) ? 1 : 0;
            }
        }

        telemetry.FanoutCompleted(delivered, start);
        return ValueTask.CompletedTask;
    }

    public ValueTask WelcomeAsync(UserJoined joined, RoomWelcome welcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(joined);
        ArgumentNullException.ThrowIfNull(welcome);
        var start = Stopwatch.GetTimestamp();
        if (outboxes.TryGetValue(joined.User.Connection, out var own))
        {
            var history = new byte[welcome.History.Count][];
            for (var i = 0; i < history.Length; i++)
            {
                history[i] = ChatEventSerializer.SerializeHistory(welcome.History[i]);
            }

            var upTo = welcome.History.Count > 0 ? welcome.History[^1].Id : 0;
            var delivered = own.StartReceivingRoomEvents(ChatEventSerializer.SerializeWelcome(joined, welcome), history, upTo);
            telemetry.FanoutCompleted(delivered ? 1 + history.Length : 0, start);
        }

        return ValueTask.CompletedTask;
    }

    public void EndTakenOverSession(ConnectionId connection)
    {
        if (outboxes.TryGetValue(connection, out var outbox))
        {
            outbox.Evict();
        }
    }

    // Fan-out runs outside the room's lock: a member who joined after a join or leave already knows of it.
    private static bool IsNewsTo(ChatEvent chatEvent, User member) => chatEvent switch
    {
        UserJoined joined => joined.IsNewsTo(member),
        UserLeft left => left.IsNewsTo(member),
        _ => true,
    };
}
