using System.Threading.Channels;
using Chat.Domain.Users;

namespace Chat.Infrastructure.Realtime;

/// <summary>
/// One client's bounded queue of encoded frames. Many threads enqueue, one writer drains it. Enqueueing never
/// waits: when the queue is full the client is too slow, the outbox closes and the <see cref="OnOverflow"/> callback
/// runs, once.
/// </summary>
public sealed class ClientOutbox
{
    private readonly Channel<byte[]> frames;
    private volatile bool receivesRoomEvents;
    private volatile bool overflowed;
    private Action? overflowCallback;
    private int overflowCallbackRan;

    public ClientOutbox(ConnectionId connection, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Connection = connection;
        frames = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
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

    /// <summary>Queues a frame for this client alone; false when it was refused (full or closed).</summary>
    public bool TrySend(byte[] frame)
    {
        if (frames.Writer.TryWrite(frame))
        {
            return true;
        }

        if (!frames.Reader.Completion.IsCompleted && frames.Writer.TryComplete())
        {
            overflowed = true;
            RunOverflowCallback();
        }

        return false;
    }

    // Whichever of TrySend and OnOverflow comes second runs the callback; the flag makes it once.
    private void RunOverflowCallback()
    {
        if (Volatile.Read(ref overflowCallback) is { } callback && Interlocked.Exchange(ref overflowCallbackRan, 1) == 0)
        {
            callback();
        }
    }

    /// <summary>Room fan-out reaches this client only after its own join notice is queued, so that comes first.</summary>
    internal bool ReceivesRoomEvents => receivesRoomEvents;

    internal void StartReceivingRoomEvents() => receivesRoomEvents = true;

    /// <summary>No more frames will be queued; the writer drains what is there and stops.</summary>
    public void Complete() => frames.Writer.TryComplete();
}
