using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Chat.Domain.Users;
using Chat.Infrastructure.Protocol;

namespace Chat.Infrastructure.Realtime;

/// <summary>
/// One client's bounded queue of encoded frames. Many threads enqueue, one writer drains it. Enqueueing never
/// waits: when the queue is full the client is too slow, the outbox closes and the <see cref="OnOverflow"/> callback
/// runs, once. "Full" has two sizes: <c>capacity</c> frames once the client's connection has taken no data for
/// <c>stallGrace</c> (see <see cref="StallStarted"/>), and a larger <c>burstCapacity</c> while it still takes data but
/// the server is behind, so that a busy core or a burst does not cost every client its connection at once.
/// Departures take one slot for a whole run of them (a <see cref="DepartureRange"/>, expanded into frames as the
/// writer reads), so nobody who stays is dropped as too slow because many others left.
/// </summary>
public sealed class ClientOutbox : ChannelReader<byte[]>
{
    private readonly Channel<object> queue;
    private readonly ChannelReader<object> items;
    private readonly int capacity;
    private readonly TimeSpan stallGrace;
    // Guards the hand-over at the welcome and the open departures range.
    private readonly Lock welcomeGate = new();
    private long stalledSince;
    private volatile bool receivesRoomEvents;
    private volatile bool leaving;
    private long joinSequence;

    // Room events that reached the client between its join and its welcome (frames, chat messages with their ids,
    // departure ranges); they follow the welcome and its history.
    private List<object>? heldBack;
    private Action<Eviction>? evictionCallback;
    // 0 while the session lasts, else 1 + the Eviction.
    private volatile int evicted;

    // The departures range queued last, while nothing has been queued after it and the writer has not taken it.
    private volatile DepartureRange? openDepartures;

    // The writer's place in the departures range it is reading; only the writer touches them.
    private DepartureNode? position;
    private DepartureNode? until;
    private volatile bool overflowed;
    private Action? overflowCallback;
    private int overflowCallbackRan;

    public ClientOutbox(ConnectionId connection, int capacity)
        : this(connection, capacity, capacity, TimeSpan.Zero)
    {
    }

    public ClientOutbox(ConnectionId connection, int capacity, int burstCapacity, TimeSpan stallGrace)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burstCapacity, capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(stallGrace, TimeSpan.Zero);
        Connection = connection;
        this.capacity = capacity;
        this.stallGrace = stallGrace;
        queue = Channel.CreateBounded<object>(new BoundedChannelOptions(burstCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
        items = queue.Reader;
    }

    public ConnectionId Connection { get; }

    /// <summary>The events beyond the original's this client asked for (<c>?features=</c>).</summary>
    public ClientFeatures Features { get; init; }

    /// <summary>
    /// The frames to send, in order; <see cref="Count"/> counts queue slots, not frames. The outbox is its own reader,
    /// so that a writer reading a frame touches no object more than the queue it had before departures were ranges.
    /// </summary>
    public ChannelReader<byte[]> Reader => this;

    /// <summary>True once a frame did not fit: the client is not keeping up.</summary>
    public bool HasOverflowed => overflowed;

    /// <summary>
    /// What to do when the client falls behind. It runs once, on the thread whose frame did not fit, so it must only
    /// signal; it runs at once if the outbox has already overflowed.
    /// </summary>
    public void OnOverflow(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (Interlocked.CompareExchange(ref overflowCallback, callback, null) is not null)
        {
            throw new InvalidOperationException("The overflow callback is already set.");
        }

        if (overflowed)
        {
            RunOverflowCallback();
        }
    }

    /// <summary>
    /// The writer's write to the client is waiting because the connection takes no data. A client that does not
    /// read stays stalled; a server that is merely behind sees short stalls, which end within the grace.
    /// </summary>
    public void StallStarted() => Volatile.Write(ref stalledSince, Stopwatch.GetTimestamp());

    /// <summary>The waiting write completed.</summary>
    public void StallEnded() => Volatile.Write(ref stalledSince, 0);

    /// <summary>Queues a frame for this client alone; false when it was refused (full or closed).</summary>
    public bool TrySend(byte[] frame)
    {
        if (!TryQueue(frame))
        {
            return false;
        }

        CloseDepartures();
        return true;
    }

    /// <summary>
    /// The client is leaving (its connection is ending): room events are no longer queued for it, and departures
    /// already queued are skipped. Frames already queued still go out before the close.
    /// </summary>
    public void MarkLeaving() => leaving = true;

    private bool TryQueue(object item)
    {
        // The count takes the channel's lock, so it is read only for a client that has been stalled long enough.
        if (IsStalledPastGrace() && queue.Reader.Count >= capacity)
        {
            Overflow();
            return false;
        }

        if (queue.Writer.TryWrite(item))
        {
            return true;
        }

        Overflow();
        return false;
    }

    /// <summary>
    /// A frame was queued after the open departures range: later departures must not join it, or they would reach
    /// the client before that frame. Read after the frame was queued: the channel's lock orders it against
    /// <see cref="TrySendDepartures"/>, which opens a range before queuing it, so a range queued before the frame is
    /// seen here.
    /// </summary>
    private void CloseDepartures()
    {
        if (openDepartures is not null)
        {
            lock (welcomeGate)
            {
                openDepartures = null;
            }
        }
    }

    private bool IsStalledPastGrace()
    {
        var since = Volatile.Read(ref stalledSince);
        return since != 0 && Stopwatch.GetElapsedTime(since) >= stallGrace;
    }

    private void Overflow()
    {
        if (!queue.Reader.Completion.IsCompleted && queue.Writer.TryComplete())
        {
            overflowed = true;
            RunOverflowCallback();
        }
    }

    // Whichever of TrySend and OnOverflow comes second runs the callback; the flag makes it once.
    private void RunOverflowCallback()
    {
        if (Volatile.Read(ref overflowCallback) is { } callback && Interlocked.Exchange(ref overflowCallbackRan, 1) == 0)
        {
            callback();
        }
    }

    /// <summary>
    /// Queues a room event. Until the client's own join notice (its welcome) is queued, events are held back and
    /// follow it: a member who joined before an event must hear of it, and its welcome must come first.
    /// <paramref name="messageId"/> is the id of a chat message (0 for other events), so that one the welcome's history
    /// already holds is not sent twice; <paramref name="arrival"/> names who an arrival on another server is about, so
    /// that a newcomer whose list of who is present already names them is not told again.
    /// </summary>
    internal bool TrySendRoomEvent(byte[] frame, long messageId = 0, UserName? arrival = null)
    {
        if (leaving)
        {
            return false;
        }

        if (!receivesRoomEvents)
        {
            lock (welcomeGate)
            {
                if (!receivesRoomEvents)
                {
                    openDepartures = null;
                    return HoldBack(messageId > 0 ? new HeldMessage(frame, messageId)
                        : arrival is not null ? new HeldArrival(frame, arrival) : frame);
                }
            }
        }

        return TrySend(frame);
    }

    /// <summary>
    /// Queues an event that is only news while it is fresh (someone typing): not for a client that did not ask for
    /// <paramref name="feature"/>, nor held back for one not yet welcomed, nor for one leaving.
    /// </summary>
    internal bool TrySendEphemeral(byte[] frame, ClientFeatures feature) =>
        (Features & feature) == feature && receivesRoomEvents && !leaving && TrySend(frame);

    /// <summary>
    /// Queues the departures after <paramref name="after"/> up to <paramref name="until"/>: by extending the range
    /// queued last when nothing has been queued after it, else as a new range. Ranges arrive in the log's order.
    /// </summary>
    internal bool TrySendDepartures(DepartureNode after, DepartureNode until)
    {
        if (leaving)
        {
            return false;
        }

        lock (welcomeGate)
        {
            if (openDepartures is { } open)
            {
                open.Until = until;
                return true;
            }

            var range = new DepartureRange(after, until);
            openDepartures = range;
            if (receivesRoomEvents ? TryQueue(range) : HoldBack(range))
            {
                return true;
            }

            openDepartures = null;
            return false;
        }
    }

    /// <summary>
    /// Queues the client's welcome and the history it is owed (messages up to id <paramref name="historyUpTo"/>), then
    /// whatever room events were held back for it, but for messages the history already held.
    /// </summary>
    internal bool StartReceivingRoomEvents(
        byte[] welcome, long sequence, IReadOnlyList<byte[]> history, long historyUpTo, IReadOnlyList<UserName>? present = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        lock (welcomeGate)
        {
            joinSequence = sequence;
            var sent = TryQueue(welcome);
            foreach (var frame in history)
            {
                TryQueue(frame);
            }

            foreach (var item in heldBack ?? [])
            {
                switch (item)
                {
                    case HeldMessage message:
                        if (message.Id > historyUpTo)
                        {
                            TryQueue(message.Frame);
                        }

                        break;
                    case HeldArrival arrival:
                        if (present?.Contains(arrival.User) != true)
                        {
                            TryQueue(arrival.Frame);
                        }

                        break;
                    default:
                        TryQueue(item);
                        break;
                }
            }

            heldBack = null;
            receivesRoomEvents = true;
            return sent;
        }
    }

    /// <summary>
    /// What to do when the server ends this client's session (see <see cref="Eviction"/>); it must only signal, and it
    /// runs at once if that already happened.
    /// </summary>
    public void OnEvicted(Action<Eviction> callback)
    {
        Volatile.Write(ref evictionCallback, callback);
        if (evicted is var ended and > 0)
        {
            callback((Eviction)(ended - 1));
        }
    }

    /// <summary>The server ends this client's session: nothing more is queued, and the connection ends.</summary>
    internal void Evict(Eviction reason)
    {
        // The callback first: it gives the connection its close reason before the writer can see the queue end.
        evicted = 1 + (int)reason;
        Volatile.Read(ref evictionCallback)?.Invoke(reason);
        queue.Writer.TryComplete();
    }

    /// <summary>No more frames will be queued; the writer drains what is there and stops.</summary>
    public void Complete() => queue.Writer.TryComplete();

    private bool HoldBack(object item)
    {
        heldBack ??= [];
        if (heldBack.Count >= capacity)
        {
            Overflow();
            return false;
        }

        heldBack.Add(item);
        return true;
    }

    /// <summary>The writer takes a range: it is closed to extension, and this is how far it reaches.</summary>
    private DepartureNode Take(DepartureRange range)
    {
        lock (welcomeGate)
        {
            if (openDepartures == range)
            {
                openDepartures = null;
            }

            return range.Until;
        }
    }

    public override bool CanCount => true;

    public override int Count => items.Count;

    public override Task Completion => items.Completion;

    /// <summary>The queue as frames: a departures range is read as the frames it covers that the client is owed.</summary>
    public override bool TryRead([MaybeNullWhen(false)] out byte[] item)
    {
        while (true)
        {
            // A client that is leaving is owed nothing; the others, what happened after they joined.
            if (leaving)
            {
                position = until;
            }

            while (position != until)
            {
                position = position!.Next!;
                if (position.Sequence > joinSequence)
                {
                    item = position.Frame;
                    return true;
                }
            }

            if (!items.TryRead(out var next))
            {
                item = null;
                return false;
            }

            if (next is byte[] frame)
            {
                item = frame;
                return true;
            }

            var range = (DepartureRange)next;
            (position, until) = (range.After, Take(range));
        }
    }

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        position == until ? items.WaitToReadAsync(cancellationToken) : NextTurnAsync();

    // The rest of a long run of departures goes out a batch per turn of the thread pool, behind the work queued
    // meanwhile: in a mass departure, the closes that cause it, which /stats and everyone's presence wait for.
    private static async ValueTask<bool> NextTurnAsync()
    {
        await Task.Yield();
        return true;
    }

    /// <summary>A chat message held back until the welcome, with its id, so one already in the history is left out.</summary>
    private sealed record HeldMessage(byte[] Frame, long Id);

    private sealed record HeldArrival(byte[] Frame, UserName User);
}

/// <summary>Why the server ends a client's session on its own.</summary>
public enum Eviction
{
    /// <summary>A newer connection presented this session's token: the client should not reconnect by itself.</summary>
    TakenOver,

    /// <summary>The room's shared message stream was lost and begun anew: the client should reconnect (and resume).</summary>
    StreamReset,
}
