using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Protocol;
using Chat.Infrastructure.Realtime;
using System.Text;

namespace Chat.Infrastructure.Tests;

public sealed class ChatBroadcasterTests
{
    private static readonly RoomWelcome NoHistory = new("epoch", "token", []);

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private readonly ChatBroadcaster broadcaster = new(TestTelemetry.Create());
    private readonly ChatRoom room = new(RoomId.Create("general"), Now);
    private long nextId;

    [Fact]
    public async Task Every_member_gets_the_same_encoded_bytes()
    {
        var members = Enumerable.Range(0, 5).Select(i => Join($"user{i}")).ToArray();
        foreach (var (_, outbox) in members)
        {
            DrainAll(outbox);
        }

        var message = room.Post(members[0].User, Domain.Messages.MessageText.Create("hello"), Now)!;
        await broadcaster.PublishAsync(room, message, TestContext.Current.CancellationToken);

        var frames = members.Select(m => DrainAll(m.Outbox).Single()).ToArray();
        Assert.All(frames, f => Assert.Same(frames[0], f));
        Assert.Contains("\"message\":\"hello\"", Encoding.UTF8.GetString(frames[0]), StringComparison.Ordinal);
    }

    [Fact]
    public void A_newcomers_first_frame_is_its_own_join_with_the_member_list()
    {
        var (_, first) = Join("alice");
        var (_, bobsOutbox) = Join("bob");

        var aliceFrames = DrainAll(first).Select(Encoding.UTF8.GetString).ToArray();
        var bobFrames = DrainAll(bobsOutbox).Select(Encoding.UTF8.GetString).ToArray();

        Assert.Equal(2, aliceFrames.Length);
        Assert.Contains("\"user_name\":\"bob\"", aliceFrames[1], StringComparison.Ordinal);
        Assert.DoesNotContain("users", aliceFrames[1], StringComparison.Ordinal);
        Assert.Single(bobFrames);
        Assert.Contains("\"users\":[\"alice\",\"bob\"]", bobFrames[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_member_that_never_reads_overflows_alone_and_nobody_waits_for_it()
    {
        var (_, stuck) = Join("stuck", capacity: 8);
        var overflows = 0;
        stuck.OnOverflow(() => Interlocked.Increment(ref overflows));
        var readers = Enumerable.Range(0, 3).Select(i => Join($"reader{i}", capacity: 10_000)).ToArray();

        for (var i = 0; i < 1000; i++)
        {
            var message = room.Post(readers[0].User, Domain.Messages.MessageText.Create($"m{i}"), Now)!;
            await broadcaster.PublishAsync(room, message, TestContext.Current.CancellationToken);
        }

        Assert.True(stuck.HasOverflowed);
        Assert.Equal(1, overflows);
        foreach (var (_, outbox) in readers)
        {
            Assert.False(outbox.HasOverflowed);
            Assert.Equal(1000, DrainAll(outbox).Count(f => Encoding.UTF8.GetString(f).Contains("chat_message", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task Concurrent_senders_each_keep_their_order_and_lose_nothing()
    {
        const int senders = 8;
        const int perSender = 500;
        var members = Enumerable.Range(0, senders).Select(i => Join($"s{i}", capacity: senders * perSender + 100)).ToArray();
        foreach (var (_, outbox) in members)
        {
            DrainAll(outbox);
        }

        await Task.WhenAll(members.Select(m => Task.Run(async () =>
        {
            for (var i = 0; i < perSender; i++)
            {
                var message = room.Post(m.User, Domain.Messages.MessageText.Create($"{m.User.Name}:{i}"), Now)!;
                await broadcaster.PublishAsync(room, message, CancellationToken.None);
            }
        }, TestContext.Current.CancellationToken)));

        foreach (var (_, outbox) in members)
        {
            var texts = DrainAll(outbox).Select(f => System.Text.Json.JsonDocument.Parse(f).RootElement.GetProperty("message").GetString()!).ToArray();
            Assert.Equal(senders * perSender, texts.Length);
            foreach (var group in texts.GroupBy(t => t.Split(':')[0]))
            {
                Assert.Equal(Enumerable.Range(0, perSender), group.Select(t => int.Parse(t.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
    }

    [Fact]
    public async Task A_notice_published_late_does_not_reach_members_who_joined_after_it_happened()
    {
        var alice = Attach("alice");
        var bob = Attach("bob");
        room.Join(alice.User, out var aliceJoined, Now);
        room.Join(bob.User, out var bobJoined, Now);

        // Bob's join is announced first; his welcome already lists Alice, so her late notice is not news to him.
        await broadcaster.PublishAsync(room, bobJoined!, TestContext.Current.CancellationToken);
        await broadcaster.WelcomeAsync(bobJoined!, NoHistory, TestContext.Current.CancellationToken);
        await broadcaster.PublishAsync(room, aliceJoined!, TestContext.Current.CancellationToken);
        await broadcaster.WelcomeAsync(aliceJoined!, NoHistory, TestContext.Current.CancellationToken);
        var aliceLeft = room.Leave(alice.User, Now)!;
        var carol = Attach("carol");
        room.Join(carol.User, out var carolJoined, Now);
        await broadcaster.PublishAsync(room, carolJoined!, TestContext.Current.CancellationToken);
        await broadcaster.WelcomeAsync(carolJoined!, NoHistory, TestContext.Current.CancellationToken);
        await broadcaster.PublishAsync(room, aliceLeft, TestContext.Current.CancellationToken);

        var atBob = DrainTexts(bob.Outbox);
        Assert.Equal(3, atBob.Length);
        Assert.Contains("\"users\":[\"alice\",\"bob\"]", atBob[0], StringComparison.Ordinal);
        Assert.Contains("\"user_name\":\"carol\"", atBob[1], StringComparison.Ordinal);
        Assert.Contains("\"type\":\"user_left\"", atBob[2], StringComparison.Ordinal);
        var atCarol = DrainTexts(carol.Outbox);
        Assert.Single(atCarol);
        Assert.Contains("\"users\":[\"bob\",\"carol\"]", atCarol[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_member_whose_welcome_is_published_late_still_hears_what_happened_after_it_joined()
    {
        var (alice, aliceOutbox) = Join("alice");
        var bob = Attach("bob");
        var carol = Attach("carol");
        room.Join(bob.User, out var bobJoined, Now);
        room.Join(carol.User, out var carolJoined, Now);

        // Carol's join and Alice's message are fanned out before Bob's own join is: both are news to Bob.
        await broadcaster.PublishAsync(room, carolJoined!, TestContext.Current.CancellationToken);
        await broadcaster.WelcomeAsync(carolJoined!, NoHistory, TestContext.Current.CancellationToken);
        await broadcaster.PublishAsync(room, room.Post(alice, Domain.Messages.MessageText.Create("hi"), Now)!, TestContext.Current.CancellationToken);
        await broadcaster.PublishAsync(room, bobJoined!, TestContext.Current.CancellationToken);
        await broadcaster.WelcomeAsync(bobJoined!, NoHistory, TestContext.Current.CancellationToken);

        var atBob = DrainTexts(bob.Outbox);
        Assert.Equal(3, atBob.Length);
        Assert.Contains("\"users\":[\"alice\",\"bob\"]", atBob[0], StringComparison.Ordinal);
        Assert.Contains("\"user_name\":\"carol\"", atBob[1], StringComparison.Ordinal);
        Assert.Contains("\"message\":\"hi\"", atBob[2], StringComparison.Ordinal);
        var atCarol = DrainTexts(carol.Outbox);
        Assert.Equal(2, atCarol.Length);
        Assert.Contains("\"users\":[\"alice\",\"bob\",\"carol\"]", atCarol[0], StringComparison.Ordinal);
        Assert.Contains("\"message\":\"hi\"", atCarol[1], StringComparison.Ordinal);
        Assert.Equal(4, DrainTexts(aliceOutbox).Length); // her welcome, Carol, her message, Bob
    }

    [Fact]
    public async Task Room_events_held_back_for_a_welcome_count_against_the_outbox_capacity()
    {
        var (alice, _) = Join("alice");
        var (bob, bobsOutbox) = Attach("bob", capacity: 2);
        var dropped = 0;
        bobsOutbox.OnOverflow(() => dropped++);
        room.Join(bob, out _, Now);

        foreach (var text in new[] { "one", "two", "three" })
        {
            await broadcaster.PublishAsync(room, room.Post(alice, Domain.Messages.MessageText.Create(text), Now)!, TestContext.Current.CancellationToken);
        }

        Assert.True(bobsOutbox.HasOverflowed);
        Assert.Equal(1, dropped);
    }

    [Fact]
    public async Task A_detached_connection_receives_nothing()
    {
        var (alice, aliceOutbox) = Join("alice");
        var (_, bobsOutbox) = Join("bob");
        DrainAll(bobsOutbox);
        broadcaster.Detach(bobsOutbox.Connection);

        await broadcaster.PublishAsync(room, room.Post(alice, Domain.Messages.MessageText.Create("x"), Now)!, TestContext.Current.CancellationToken);

        Assert.Empty(DrainAll(bobsOutbox));
        Assert.NotEmpty(DrainAll(aliceOutbox));
    }

    [Fact]
    public async Task Departures_one_after_another_take_one_queue_slot_of_a_member_who_stays_and_each_is_announced_once()
    {
        var leavers = Enumerable.Range(0, 100).Select(i => Join($"leaver{i}")).ToArray();
        var (_, stays) = Join("stays", capacity: 4);
        var overflows = 0;
        stays.OnOverflow(() => overflows++);
        DrainAll(stays);

        foreach (var (user, _) in leavers)
        {
            await broadcaster.PublishAsync(room, room.Leave(user, Now)!, TestContext.Current.CancellationToken);
        }

        Assert.Equal(1, stays.Reader.Count);
        Assert.Equal(0, overflows);
        Assert.Equal(leavers.Select(l => l.User.Name.Value), DrainTexts(stays).Select(UserNameOf));
    }

    [Fact]
    public async Task A_writer_that_stops_inside_a_run_of_departures_finds_the_rest_when_it_waits_again()
    {
        var (_, stays) = Join("stays");
        var leavers = Enumerable.Range(0, 3).Select(i => Join($"leaver{i}")).ToArray();
        DrainAll(stays);
        foreach (var (user, _) in leavers)
        {
            await broadcaster.PublishAsync(room, room.Leave(user, Now)!, TestContext.Current.CancellationToken);
        }

        stays.Complete();

        // As the connection's writer does: a batch, then a wait for more; the queue itself is already empty.
        var names = new List<string>();
        while (await stays.Reader.WaitToReadAsync(TestContext.Current.CancellationToken))
        {
            Assert.True(stays.Reader.TryRead(out var frame));
            names.Add(UserNameOf(Encoding.UTF8.GetString(frame)));
        }

        Assert.Equal(["leaver0", "leaver1", "leaver2"], names);
    }

    [Fact]
    public async Task A_member_that_is_leaving_is_sent_no_departures_not_even_those_already_queued()
    {
        var (_, stays) = Join("stays");
        var (_, leaving) = Join("leaving");
        var (carol, _) = Join("carol");
        var (dave, _) = Join("dave");
        DrainAll(stays);
        DrainAll(leaving);

        await broadcaster.PublishAsync(room, room.Leave(carol, Now)!, TestContext.Current.CancellationToken);
        leaving.MarkLeaving();
        await broadcaster.PublishAsync(room, room.Leave(dave, Now)!, TestContext.Current.CancellationToken);

        Assert.Empty(DrainAll(leaving));
        Assert.Equal(["carol", "dave"], DrainTexts(stays).Select(UserNameOf));
    }

    [Fact]
    public async Task A_message_between_two_departures_stays_between_them()
    {
        var (_, stays) = Join("stays");
        var (carol, _) = Join("carol");
        var (dave, _) = Join("dave");
        DrainAll(stays);

        await broadcaster.PublishAsync(room, room.Leave(carol, Now)!, TestContext.Current.CancellationToken);
        await broadcaster.PublishAsync(room, room.Post(dave, Domain.Messages.MessageText.Create("bye"), Now)!, TestContext.Current.CancellationToken);
        await broadcaster.PublishAsync(room, room.Leave(dave, Now)!, TestContext.Current.CancellationToken);

        var texts = DrainTexts(stays);
        Assert.Equal(3, texts.Length);
        Assert.Contains("\"user_name\":\"carol\"", texts[0], StringComparison.Ordinal);
        Assert.Contains("\"message\":\"bye\"", texts[1], StringComparison.Ordinal);
        Assert.Contains("\"type\":\"user_left\",\"user_name\":\"dave\"", texts[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_a_concurrent_mass_departure_each_leavers_messages_come_before_its_departure_and_every_departure_once()
    {
        const int leavers = 64;
        const int messagesEach = 5;
        var (_, stays) = Join("stays", capacity: 100_000);
        var users = Enumerable.Range(0, leavers).Select(i => Join($"u{i}", capacity: 100_000)).ToArray();
        DrainAll(stays);

        await Task.WhenAll(users.Select(u => Task.Run(async () =>
        {
            for (var m = 0; m < messagesEach; m++)
            {
                await broadcaster.PublishAsync(room, room.Post(u.User, Domain.Messages.MessageText.Create($"{m}"), Now)!, CancellationToken.None);
            }

            u.Outbox.MarkLeaving();
            await broadcaster.PublishAsync(room, room.Leave(u.User, Now)!, CancellationToken.None);
        }, TestContext.Current.CancellationToken)));

        var seen = new Dictionary<string, int>();
        var departed = new HashSet<string>();
        foreach (var text in DrainTexts(stays))
        {
            var name = UserNameOf(text);
            Assert.DoesNotContain(name, departed);
            if (text.Contains("\"type\":\"user_left\"", StringComparison.Ordinal))
            {
                Assert.Equal(messagesEach, seen.GetValueOrDefault(name));
                departed.Add(name);
            }
            else
            {
                seen[name] = seen.GetValueOrDefault(name) + 1;
            }
        }

        Assert.Equal(leavers, departed.Count);
    }

    [Fact]
    public async Task Typing_reaches_only_the_others_who_asked_for_it_and_carries_no_text()
    {
        var (alice, aliceOutbox) = Join("alice", features: ClientFeatures.Typing);
        var (_, bobOutbox) = Join("bob", features: ClientFeatures.Typing);
        var (_, original) = Join("carol");
        foreach (var outbox in new[] { aliceOutbox, bobOutbox, original })
        {
            DrainAll(outbox);
        }

        await broadcaster.PublishAsync(room, new UserTyping(room.Id, alice, Now), TestContext.Current.CancellationToken);

        Assert.Equal(["""{"type":"typing","user_name":"alice","timestamp":1800000000.000}"""], DrainTexts(bobOutbox));
        Assert.Empty(DrainTexts(aliceOutbox));
        Assert.Empty(DrainTexts(original));
    }

    [Fact]
    public async Task Typing_is_not_held_back_for_a_member_not_yet_welcomed()
    {
        var (alice, aliceOutbox) = Join("alice", features: ClientFeatures.Typing);
        var (bob, bobOutbox) = Attach("bob", features: ClientFeatures.Typing);
        Assert.Equal(JoinOutcome.Joined, room.Join(bob, out var joined, Now));
        DrainAll(aliceOutbox);

        await broadcaster.PublishAsync(room, new UserTyping(room.Id, alice, Now), TestContext.Current.CancellationToken);
        await broadcaster.WelcomeAsync(joined!, NoHistory, TestContext.Current.CancellationToken);

        var frames = DrainTexts(bobOutbox);
        Assert.Single(frames);
        Assert.Contains("\"user_joined\"", frames[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_arrival_on_another_server_already_in_a_newcomers_list_is_not_told_again()
    {
        var (carol, outbox) = Attach("carol");
        Assert.Equal(JoinOutcome.Joined, room.Join(carol, out var joined, Now));

        // Heard of while carol waits for her welcome: dave's arrival made it into her list, erin's came after it.
        broadcaster.PublishArrivalFromElsewhere(room, new UserJoined(room.Id, new User(default, UserName.Create("dave"), Now), [], Now, room.NextSequence()));
        broadcaster.PublishArrivalFromElsewhere(room, new UserJoined(room.Id, new User(default, UserName.Create("erin"), Now), [], Now, room.NextSequence()));
        await broadcaster.WelcomeAsync(
            joined! with { Present = [UserName.Create("dave"), UserName.Create("carol")] }, NoHistory, TestContext.Current.CancellationToken);

        var frames = DrainTexts(outbox);
        Assert.Equal(2, frames.Length);
        Assert.Contains("\"users\":[\"dave\",\"carol\"]", frames[0], StringComparison.Ordinal);
        Assert.Equal("erin", UserNameOf(frames[1]));
    }

    private (User User, ClientOutbox Outbox) Attach(string name, int capacity = 1024, ClientFeatures features = ClientFeatures.None)
    {
        var user = new User(new ConnectionId(Interlocked.Increment(ref nextId)), UserName.Create(name), Now);
        var outbox = new ClientOutbox(user.Connection, capacity) { Features = features };
        broadcaster.Attach(outbox);
        return (user, outbox);
    }

    private (User User, ClientOutbox Outbox) Join(string name, int capacity = 1024, ClientFeatures features = ClientFeatures.None)
    {
        var (user, outbox) = Attach(name, capacity, features);
        Assert.Equal(JoinOutcome.Joined, room.Join(user, out var joined, Now));
        broadcaster.PublishAsync(room, joined!, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        broadcaster.WelcomeAsync(joined!, NoHistory, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return (user, outbox);
    }

    private static string UserNameOf(string frame) =>
        System.Text.Json.JsonDocument.Parse(frame).RootElement.GetProperty("user_name").GetString()!;

    private static string[] DrainTexts(ClientOutbox outbox) => [.. DrainAll(outbox).Select(f => Encoding.UTF8.GetString(f))];

    private static List<byte[]> DrainAll(ClientOutbox outbox)
    {
        var frames = new List<byte[]>();
        while (outbox.Reader.TryRead(out var frame))
        {
            frames.Add(frame);
        }

        return frames;
    }
}
