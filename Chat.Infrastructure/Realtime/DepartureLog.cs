using Chat.Domain.Rooms;

namespace Chat.Infrastructure.Realtime;

/// <summary>One departure in a room's log: its encoded <c>user_left</c> and its place in the room's sequence.</summary>
internal sealed class DepartureNode(byte[] frame, long sequence)
{
    public byte[] Frame { get; } = frame;

    public long Sequence { get; } = sequence;

    /// <summary>Set once, under the log's lock, before anyone is told the node exists.</summary>
    public DepartureNode? Next { get; set; }
}

/// <summary>
/// The departures a member is owed: those after <see cref="After"/>, up to and including <see cref="Until"/>. One
/// queue slot, however many they are: while it is the last thing queued for the member, later departures extend it.
/// </summary>
internal sealed class DepartureRange(DepartureNode after, DepartureNode until)
{
    public DepartureNode After { get; } = after;

    /// <summary>Read and extended only under the member's outbox lock.</summary>
    public DepartureNode Until { get; set; } = until;
}

/// <summary>
/// A room's departures, delivered to the members in batches. Each departure is appended as it happens; one pass over
/// the members, queued behind the work that is running (the closes that caused the departures, in a mass departure),
/// then gives every member who stays one range for all that left meanwhile. Any other room event first delivers the
/// departures before it, so the order a member sees stays the order things happened.
/// </summary>
internal sealed class DepartureLog : IThreadPoolWorkItem
{
    private readonly ChatBroadcaster broadcaster;
    private readonly ChatRoom room;
    private readonly Lock appendGate = new();

    // Deliveries run one at a time, so every member is given the log's batches in order.
    private readonly Lock deliverGate = new();
    private DepartureNode tail;
    private DepartureNode delivered;
    private TaskCompletionSource? pending;
    private bool scheduled;

    public DepartureLog(ChatBroadcaster broadcaster, ChatRoom room)
    {
        this.broadcaster = broadcaster;
        this.room = room;
        tail = delivered = new DepartureNode([], 0);
    }

    /// <summary>True while a departure has been appended but not yet given to the members.</summary>
    public bool HasUndelivered => Volatile.Read(ref tail) != Volatile.Read(ref delivered);

    /// <summary>Appends a departure; the task completes once it has been queued for every member who is owed it.</summary>
    public Task Append(byte[] frame, long sequence)
    {
        Task delivery;
        bool schedule;
        lock (appendGate)
        {
            var node = new DepartureNode(frame, sequence);
            tail.Next = node;
            Volatile.Write(ref tail, node);
            pending ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            delivery = pending.Task;
            schedule = !scheduled;
            scheduled = true;
        }

        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        return delivery;
    }

    void IThreadPoolWorkItem.Execute() => Deliver();

    /// <summary>Gives the members every departure appended so far.</summary>
    public void Deliver()
    {
        lock (deliverGate)
        {
            while (true)
            {
                DepartureNode after, until;
                TaskCompletionSource? done;
                lock (appendGate)
                {
                    (after, until, done) = (delivered, tail, pending);
                    pending = null;
                    scheduled = false;
                }

                if (after == until)
                {
                    return;
                }

                try
                {
                    broadcaster.DeliverDepartures(room, after, until);
                }
                finally
                {
                    Volatile.Write(ref delivered, until);
                    done?.TrySetResult();
                }
            }
        }
    }
}
