using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Protocol;
using Chat.Infrastructure.Telemetry;

namespace Chat.Infrastructure.Realtime;

/// <summary>
/// Fans room events out to the members' outboxes: each event is encoded once and the same bytes are queued for
/// every member. Queuing never waits; a member whose outbox is full is disconnected by its own connection.
/// Departures go through the room's <see cref="DepartureLog"/>: when many members leave at once (a partition, a load
/// balancer closing connections), one pass over the members gives each who stays a single queue slot for all of them,
/// instead of a pass and a slot per departure, which in a room of 10,000 kept the core busy for seconds and dropped
/// those who stayed as too slow. The wire is unchanged: one <c>user_left</c> per departed user per remaining member.
/// </summary>
public sealed class ChatBroadcaster(ChatTelemetry telemetry) : IBroadcaster
{
    private readonly ConcurrentDictionary<ConnectionId, ClientOutbox> outboxes = new();
    private readonly ConditionalWeakTable<ChatRoom, DepartureLog> departures = new();

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
        if (chatEvent is UserLeft left)
        {
            var log = departures.TryGetValue(room, out var existing) ? existing : departures.GetValue(room, r => new DepartureLog(this, r));
            return new ValueTask(log.Append(ChatEventSerializer.Serialize(left), left.Sequence));
        }

        DeliverPendingDepartures(room);

        if (chatEvent is UserTyping typing)
        {
            PublishTyping(room, typing);
            return ValueTask.CompletedTask;
        }

        Fanout(room, chatEvent, arrivalElsewhere: null);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Queues the arrival of someone on another server (through Redis). It can reach this server after a newcomer here
    /// took its list of who is present, which already names them: such a newcomer is not told again.
    /// </summary>
    internal void PublishArrivalFromElsewhere(ChatRoom room, UserJoined joined)
    {
        ArgumentNullException.ThrowIfNull(joined);
        DeliverPendingDepartures(room);

        Fanout(room, joined, joined.User.Name);
    }

    /// <summary>Departures before an event reach every member before it does.</summary>
    private void DeliverPendingDepartures(ChatRoom room)
    {
        if (departures.TryGetValue(room, out var pending) && pending.HasUndelivered)
        {
            pending.Deliver();
        }
    }

    private void Fanout(ChatRoom room, ChatEvent chatEvent, UserName? arrivalElsewhere)
    {
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
                delivered += outbox.TrySendRoomEvent(frame, messageId, arrivalElsewhere) ? 1 : 0;
            }
        }

        telemetry.FanoutCompleted(delivered, start);
    }

    /// <summary>To the others who asked for typing events only: a client written for the original never sees one.</summary>
    private void PublishTyping(ChatRoom room, UserTyping typing)
    {
        var start = Stopwatch.GetTimestamp();
        var delivered = 0;
        var frame = ChatEventSerializer.Serialize(typing);
        var members = room.Members;
        for (var i = 0; i < members.Count; i++)
        {
            var member = members[i];
            if (typing.IsNewsTo(member) && outboxes.TryGetValue(member.Connection, out var outbox))
            {
                delivered += outbox.TrySendEphemeral(frame, ClientFeatures.Typing) ? 1 : 0;
            }
        }

        telemetry.FanoutCompleted(delivered, start);
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
            var delivered = own.StartReceivingRoomEvents(
                ChatEventSerializer.SerializeWelcome(joined, welcome), joined.Sequence, history, upTo, joined.Present);
            telemetry.FanoutCompleted(delivered ? 1 + history.Length : 0, start);
        }

        return ValueTask.CompletedTask;
    }

    public void NotifySender(ConnectionId connection, string reason)
    {
        if (outboxes.TryGetValue(connection, out var outbox))
        {
            outbox.TrySend(ChatEventSerializer.SerializeError(reason, DateTimeOffset.UtcNow));
        }
    }

    public void EndTakenOverSession(ConnectionId connection)
    {
        if (outboxes.TryGetValue(connection, out var outbox))
        {
            outbox.Evict(Eviction.TakenOver);
        }
    }

    /// <summary>
    /// Ends the sessions of every member of the room here, asking their clients to reconnect: the room's shared stream
    /// was begun anew, so the ids they hold mean nothing any more.
    /// </summary>
    internal void EndSessionsForReset(ChatRoom room)
    {
        foreach (var member in room.Members)
        {
            if (outboxes.TryGetValue(member.Connection, out var outbox))
            {
                outbox.Evict(Eviction.StreamReset);
            }
        }
    }

    /// <summary>
    /// Queues chat messages numbered and encoded elsewhere (by the server their sender is on, through the shared bus),
    /// in order; the same bytes go to every member.
    /// </summary>
    internal void PublishMessageFrames(ChatRoom room, IReadOnlyList<(byte[] Frame, long Id)> messages)
    {
        DeliverPendingDepartures(room);

        var start = Stopwatch.GetTimestamp();
        var delivered = 0;
        var members = room.Members;
        foreach (var (frame, id) in messages)
        {
            for (var i = 0; i < members.Count; i++)
            {
                if (outboxes.TryGetValue(members[i].Connection, out var outbox))
                {
                    delivered += outbox.TrySendRoomEvent(frame, id) ? 1 : 0;
                }
            }
        }

        telemetry.FanoutCompleted(delivered, start);
    }

    /// <summary>
    /// Queues a batch of the room's departures for every member who is owed one of them: members who have left are
    /// no longer in the room, members who are leaving are skipped, members who joined after all of them skip them.
    /// </summary>
    internal void DeliverDepartures(ChatRoom room, DepartureNode after, DepartureNode until)
    {
        var start = Stopwatch.GetTimestamp();
        long first = long.MaxValue, last = 0;
        var count = 0;
        for (var node = after; node != until;)
        {
            node = node.Next!;
            first = Math.Min(first, node.Sequence);
            last = Math.Max(last, node.Sequence);
            count++;
        }

        var delivered = 0;
        var members = room.Members;
        for (var i = 0; i < members.Count; i++)
        {
            var member = members[i];
            if (member.JoinSequence < last && outboxes.TryGetValue(member.Connection, out var outbox)
                && outbox.TrySendDepartures(after, until))
            {
                delivered += member.JoinSequence < first ? count : CountOwed(member, after, until);
            }
        }

        telemetry.FanoutCompleted(delivered, start);
    }

    private static int CountOwed(User member, DepartureNode after, DepartureNode until)
    {
        var owed = 0;
        for (var node = after; node != until;)
        {
            node = node.Next!;
            owed += node.Sequence > member.JoinSequence ? 1 : 0;
        }

        return owed;
    }

    // Fan-out runs outside the room's lock: a member who joined after a join already knows of it.
    private static bool IsNewsTo(ChatEvent chatEvent, User member) => chatEvent switch
    {
        UserJoined joined => joined.IsNewsTo(member),
        _ => true,
    };
}
