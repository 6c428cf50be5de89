using System.Threading.Channels;
using Chat.Domain.Users;

namespace Chat.Infrastructure.Realtime;

/// <summary>
/// One client's bounded queue of encoded frames. Many threads enqueue, one writer drains it. Enqueueing never
/// waits: when the queue is full the client is too slow, the outbox closes and <see cref="Overflow"/> completes.
/// </summary>
public sealed class ClientOutbox
{
    private readonly Channel<byte[]> frames;
    private readonly TaskCompletionSource overflow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool receivesRoomEvents;

    public ClientOutbox(ConnectionId connection, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Connection = connection;
        Capacity = capacity;
        frames = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    public ConnectionId Connection { get; }

    public int Capacity { get; }

    public ChannelReader<byte[]> Reader => frames.Reader;

    /// <summary>Completes once, when a frame did not fit: the client is not keeping up.</summary>
    public Task Overflow => overflow.Task;

    public bool HasOverflowed => overflow.Task.IsCompleted;

    /// <summary>Queues a frame for this client alone; false when it was refused (full or closed).</summary>
    public bool TrySend(byte[] frame)
    {
        if (frames.Writer.TryWrite(frame))
        {
            return true;
        }

        if (!frames.Reader.Completion.IsCompleted && frames.Writer.TryComplete())
        {
            overflow.TrySetResult();
        }

        return false;
    }

    /// <summary>Room fan-out reaches this client only after its own join notice is queued, so that comes first.</summary>
    internal bool ReceivesRoomEvents => receivesRoomEvents;

    internal void StartReceivingRoomEvents() => receivesRoomEvents = true;

    /// <summary>No more frames will be queued; the writer drains what is there and stops.</summary>
    public void Complete() => frames.Writer.TryComplete();
}
