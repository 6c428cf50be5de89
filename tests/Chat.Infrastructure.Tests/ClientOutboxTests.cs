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
    public void A_client_still_taking_data_may_fall_behind_up_to_the_burst_capacity()
    {
        var outbox = new ClientOutbox(new ConnectionId(1), capacity: 2, burstCapacity: 4, TimeSpan.Zero);

        for (byte i = 0; i < 4; i++)
        {
            Assert.True(outbox.TrySend([i]));
        }

        Assert.False(outbox.TrySend([4]));
        Assert.True(outbox.HasOverflowed);
    }

    [Fact]
    public void Once_its_connection_has_taken_no_data_for_the_grace_the_smaller_capacity_applies()
    {
        var outbox = new ClientOutbox(new ConnectionId(1), capacity: 2, burstCapacity: 4, TimeSpan.Zero);
        Assert.True(outbox.TrySend([1]));
        outbox.StallStarted();

        Assert.True(outbox.TrySend([2]));
        Assert.False(outbox.TrySend([3]));
        Assert.True(outbox.HasOverflowed);
    }

    [Fact]
    public void A_stall_shorter_than_the_grace_leaves_the_burst_capacity()
    {
        var outbox = new ClientOutbox(new ConnectionId(1), capacity: 2, burstCapacity: 4, TimeSpan.FromHours(1));
        outbox.StallStarted();

        for (byte i = 0; i < 4; i++)
        {
            Assert.True(outbox.TrySend([i]));
        }

        Assert.False(outbox.HasOverflowed);
    }

    [Fact]
    public void A_stall_that_ends_costs_nothing()
    {
        var outbox = new ClientOutbox(new ConnectionId(1), capacity: 2, burstCapacity: 4, TimeSpan.Zero);
        outbox.StallStarted();
        Assert.True(outbox.TrySend([1]));
        Assert.True(outbox.Reader.TryRead(out _));
        outbox.StallEnded();

        Assert.True(outbox.TrySend([2]));
        Assert.True(outbox.TrySend([3]));
        Assert.True(outbox.TrySend([4]));
        Assert.False(outbox.HasOverflowed);
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
