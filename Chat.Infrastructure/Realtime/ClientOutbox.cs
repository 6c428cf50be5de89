using System.Diagnostics;
using System.Threading.Channels;
using Chat.Domain.Users;

namespace Chat.Infrastructure.Realtime;

/// <summary>
/// One client's bounded queue of encoded frames. Many threads enqueue, one writer drains it. Enqueueing never
/// waits: when the queue is full the client is too slow, the outbox closes and the <see cref="OnOverflow"/> callback
/// runs, once. "Full" has two sizes: <c>capacity</c> frames once the client's connection has taken no data for
/// <c>stallGrace</c> (see <see cref="StallStarted"/>), and a larger <c>burstCapacity</c> while it still takes data but
/// the server is behind, so that a busy core or a burst does not cost every client its connection at once.
/// </summary>
public sealed class ClientOutbox
{
    private readonly Channel<byte[]> frames;
    private readonly int capacity;
    private readonly TimeSpan stallGrace;
    private readonly Lock welcomeGate = new();
    private long stalledSince;
    private volatile bool receivesRoomEvents;

    // Room events that reached the client between its join and its welcome, with their message ids (0 for other
    // events); they follow the welcome and its history.
    private List<(byte[] Frame, long MessageId)>? heldBack;
    private Action? evictionCallback;
    private volatile bool evicted;
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
        frames = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(burstCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    public ConnectionId Connection { get; }

    public ChannelReader<byte[]> Reader => frames.Reader;

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
        // The count takes the channel's lock, so it is read only for a client that has been stalled long enough.
        if (IsStalledPastGrace() && frames.Reader.Count >= capacity)
        {
            Overflow();
            return false;
        }

        if (frames.Writer.TryWrite(frame))
        {
            return true;
        }

        Overflow();
        return false;
    }

    private bool IsStalledPastGrace()
    {
        var since = Volatile.Read(ref stalledSince);
        return since != 0 && Stopwatch.GetElapsedTime(since) >= stallGrace;
    }

    private void Overflow()
    {
        if (!frames.Reader.Completion.IsCompleted && frames.Writer.TryComplete())
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
    /// already holds is not sent twice.
    /// </summary>
    internal bool TrySendRoomEvent(byte[] frame, long messageId = 0)
    {
        if (!receivesRoomEvents)
        {
            lock (welcomeGate)
            {
                if (!receivesRoomEvents)
                {
                    heldBack ??= [];
                    if (heldBack.Count >= capacity)
                    {
                        Overflow();
                        return false;
                    }

                    heldBack.Add((frame, messageId));
                    return true;
                }
            }
        }

        return TrySend(frame);
    }

    /// <summary>
    /// Queues the client's welcome and the history it is owed (messages up to id <paramref name="historyUpTo"/>), then
    /// whatever room events were held back for it, but for messages the history already held.
    /// </summary>
    internal bool StartReceivingRoomEvents(byte[] welcome, IReadOnlyList<byte[]> history, long historyUpTo)
    {
        lock (welcomeGate)
        {
            var sent = TrySend(welcome);
            foreach (var frame in history)
            {
                TrySend(frame);
            }

            foreach (var (frame, messageId) in heldBack ?? [])
            {
                if (messageId == 0 || messageId > historyUpTo)
                {
                    TrySend(frame);
                }
            }

            heldBack = null;
            receivesRoomEvents = true;
            return sent;
        }
    }

    /// <summary>
    /// What to do when another connection takes this client's session over; it must only signal, and it runs at once
    /// if that already happened.
    /// </summary>
    public void OnEvicted(Action callback)
    {
        Volatile.Write(ref evictionCallback, callback);
        if (evicted)
        {
            callback();
        }
    }

    /// <summary>Another connection took this client's session: nothing more is queued, and the connection ends.</summary>
    internal void Evict()
    {
        evicted = true;
        frames.Writer.TryComplete();
        Volatile.Read(ref evictionCallback)?.Invoke();
    }

    /// <summary>No more frames will be queued; the writer drains what is there and stops.</summary>
    public void Complete() => frames.Writer.TryComplete();
}
