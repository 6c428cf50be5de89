using Chat.Domain.Users;
using Chat.Infrastructure.Realtime;

namespace Chat.Infrastructure.Tests;

public sealed class ClientOutboxTests
{
    [Fact]
    public void A_full_outbox_refuses_the_frame_closes_and_reports_the_overflow_once()
    {
        var outbox = new ClientOutbox(new ConnectionId(1), capacity: 2);
        var overflows = 0;
        outbox.OnOverflow(() => overflows++);

        Assert.True(outbox.TrySend([1]));
        Assert.True(outbox.TrySend([2]));
        Assert.False(outbox.TrySend([3]));
        Assert.False(outbox.TrySend([4]));

        Assert.True(outbox.HasOverflowed);
        Assert.Equal(1, overflows);
    }

    [Fact]
    public void A_callback_set_after_the_overflow_runs_at_once()
    {
        var outbox = new ClientOutbox(new ConnectionId(1), capacity: 1);
        outbox.TrySend([1]);
        outbox.TrySend([2]);

        var overflows = 0;
        outbox.OnOverflow(() => overflows++);

        Assert.Equal(1, overflows);
    }

    [Fact]
    public void A_completed_outbox_refuses_frames_without_calling_it_an_overflow()
    {
        var outbox = new ClientOutbox(new ConnectionId(1), capacity: 4);
        var overflows = 0;
        outbox.OnOverflow(() => overflows++);
        outbox.TrySend([1]);

        outbox.Complete();

        Assert.False(outbox.TrySend([2]));
        Assert.False(outbox.HasOverflowed);
        Assert.Equal(0, overflows);
        Assert.True(outbox.Reader.TryRead(out var queued));
        Assert.Equal([1], queued);
    }
}
