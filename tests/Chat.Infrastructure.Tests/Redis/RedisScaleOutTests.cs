using System.Text;
using System.Text.Json;
using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Realtime;
using Chat.Infrastructure.Redis;
using Chat.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat.Infrastructure.Tests.Redis;

/// <summary>
/// The Redis side of scale-out against a real redis-server, with "servers" in one process (each its own registry,
/// fan-out, subscriptions and presence): what a subscription delivers when Redis's feed has holes or a new epoch, and
/// how presence scripts decide races and let go of a dead server's users.
/// </summary>
public sealed class RedisScaleOutTests(RedisServer server) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly List<IDisposable> disposables = [];
    private ConnectionMultiplexer redis = null!;

    public async ValueTask InitializeAsync()
    {
        redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var disposable in disposables)
        {
            disposable.Dispose();
        }

        await redis.DisposeAsync();
    }

    [Fact]
    public async Task A_subscription_fills_a_hole_from_the_stream_skips_repeats_and_keeps_the_order()
    {
        var node = Server();
        var room = RoomId.Create("holes");
        var alice = node.Member(room, "alice", 1);
        var database = redis.GetDatabase();
        await database.HashSetAsync(RedisKeys.Meta(room), [new("epoch", "e1"), new("top", 4)]);
        await node.Channels.EnsureSubscribedAsync(room);
        for (var id = 1; id <= 4; id++)
        {
            await database.StreamAddAsync(RedisKeys.Stream(room), [new("u", "bob"), new("t", $"m{id}"), new("ms", Now.ToUnixTimeMilliseconds())], $"{id}-1");
        }

        await PublishAsync(room, "e1", 1, "m1");
        await PublishAsync(room, "e1", 4, "m4");  // 2 and 3 never came through the channel
        await PublishAsync(room, "e1", 3, "m3");  // late: already delivered

        var frames = await alice.ReadAsync(4);
        Assert.Equal([(1L, "m1"), (2L, "m2"), (3L, "m3"), (4L, "m4")], frames.Select(f => (f.GetProperty("id").GetInt64(), f.GetProperty("message").GetString())));
        await Task.Delay(200, Ct);
        Assert.Empty(alice.Drain());
    }

    [Fact]
    public async Task A_new_epoch_ends_the_members_sessions_so_they_resume_into_it()
    {
        var node = Server();
        var room = RoomId.Create("epochs");
        var alice = node.Member(room, "alice", 1);
        Eviction? evicted = null;
        alice.Outbox.OnEvicted(reason => evicted = reason);
        // As a join leaves it (a reconnect to Redis meanwhile checks the room against it).
        await redis.GetDatabase().HashSetAsync(RedisKeys.Meta(room), [new("epoch", "e1"), new("top", 0)]);
        await node.Channels.EnsureSubscribedAsync(room);

        await PublishAsync(room, "e1", 1, "m1");
        await alice.ReadAsync(1);
        await PublishAsync(room, "e2", 1, "again");

        await WaitUntilAsync(() => evicted is not null);
        Assert.Equal(Eviction.StreamReset, evicted);
    }

    [Fact]
    public async Task Of_two_servers_racing_for_one_name_exactly_one_wins_every_time()
    {
        var (one, two) = (Server(), Server());
        var room = RoomId.Create("race");
        for (var round = 0; round < 50; round++)
        {
            var name = $"racer{round}";
            var claims = await Task.WhenAll(
                Task.Run(() => one.Claim(room, name, 1000 + round), Ct),
                Task.Run(() => two.Claim(room, name, 2000 + round), Ct));
            Assert.Single(claims, c => c.Outcome == PresenceOutcome.Claimed);
            Assert.Single(claims, c => c.Outcome == PresenceOutcome.Taken);
        }
    }

    [Fact]
    public async Task Only_the_holder_releases_a_name_and_its_token_takes_it_over_from_another_server()
    {
        var (one, two) = (Server(), Server());
        var room = RoomId.Create("tokens");
        var alice = new User(new ConnectionId(1), UserName.Create("alice"), Now, "secret-token");
        Assert.Equal(PresenceOutcome.Claimed, (await one.Presence.ClaimAsync(room, alice, null, Ct)).Outcome);

        var impostor = new User(new ConnectionId(2), UserName.Create("ALICE"), Now, "other");
        Assert.Equal(PresenceOutcome.Taken, (await two.Presence.ClaimAsync(room, impostor, "wrong", Ct)).Outcome);
        await two.Presence.ReleaseAsync(room, impostor, Ct);
        Assert.Equal(1, await two.Presence.CountAsync(room, Ct));

        var back = new User(new ConnectionId(3), UserName.Create("alice"), Now, "next-token");
        var takeover = await two.Presence.ClaimAsync(room, back, "secret-token", Ct);
        Assert.Equal(PresenceOutcome.TakenOver, takeover.Outcome);
        Assert.Equal(["alice"], takeover.Present!.Select(n => n.Value));

        // The old holder's late release changes nothing: the name is the new connection's.
        await one.Presence.ReleaseAsync(room, alice, Ct);
        Assert.Equal(1, await one.Presence.CountAsync(room, Ct));
        await two.Presence.ReleaseAsync(room, back, Ct);
        Assert.Equal(0, await one.Presence.CountAsync(room, Ct));
    }

    [Fact]
    public async Task A_dead_servers_users_are_announced_as_left_by_the_survivors_sweep_and_their_names_freed()
    {
        var (dead, survivor) = (Server(), Server(TimeSpan.FromSeconds(1)));
        var room = RoomId.Create("sweep");
        var bob = survivor.Member(room, "bob", 1);
        Assert.Equal(PresenceOutcome.Claimed, (await survivor.Presence.ClaimAsync(room, bob.User, null, Ct)).Outcome);
        await dead.Claim(room, "alice", 7);
        await bob.ReadAsync(1); // alice's arrival, from the other server

        await redis.GetDatabase().KeyDeleteAsync(RedisKeys.Replica(dead.Replica.Id)); // its liveness expired
        await survivor.Presence.StartAsync(Ct);
        try
        {
            var left = await bob.ReadAsync(1, TimeSpan.FromSeconds(10));
            Assert.Equal(("user_left", "alice"), (left[0].GetProperty("type").GetString(), left[0].GetProperty("user_name").GetString()));
            Assert.Equal(1, await survivor.Presence.CountAsync(room, Ct));
            Assert.Equal(PresenceOutcome.Claimed, (await survivor.Claim(room, "alice", 8)).Outcome);
        }
        finally
        {
            await survivor.Presence.StopAsync(CancellationToken.None);
        }
    }

    private async Task PublishAsync(RoomId room, string epoch, long id, string text) =>
        await redis.GetDatabase().PublishAsync(
            RedisKeys.Channel(room),
            $"M {epoch} {id} 1\n{{\"type\":\"chat_message\",\"user_name\":\"bob\",\"message\":\"{text}\",\"timestamp\":1800000000.000,\"id\":{id}}}");

    private Node Server(TimeSpan? presenceTimeout = null)
    {
        var options = Options.Create(new ChatOptions());
        var registry = new ConnectionRegistry(options, TimeProvider.System);
        var broadcaster = new ChatBroadcaster(TestTelemetry.Create());
        var replica = new Replica();
        var channels = new RoomChannels(redis, registry, broadcaster, replica, TimeProvider.System, options, NullLogger<RoomChannels>.Instance);
        var presence = new RedisPresence(redis, channels, replica,
            Options.Create(new PresenceOptions { Timeout = presenceTimeout ?? TimeSpan.FromSeconds(30) }), TimeProvider.System,
            NullLogger<RedisPresence>.Instance);
        disposables.Add(channels);
        disposables.Add(presence);
        return new Node(registry, broadcaster, channels, presence, replica);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var waited = 0; !condition(); waited += 20)
        {
            Assert.True(waited < 10_000, "condition not met within 10 s");
            await Task.Delay(20, Ct);
        }
    }

    private sealed record Node(ConnectionRegistry Registry, ChatBroadcaster Broadcaster, RoomChannels Channels, RedisPresence Presence, Replica Replica)
    {
        /// <summary>A member of the room on this server, welcomed, with an outbox that records what it is sent.</summary>
        public Member Member(RoomId roomId, string name, long connection)
        {
            var room = Registry.GetOrAddRoom(roomId, Now);
            var user = new User(new ConnectionId(connection), UserName.Create(name), Now, $"token-{connection}");
            var outbox = new ClientOutbox(user.Connection, 1024);
            Broadcaster.Attach(outbox);
            Assert.Equal(JoinOutcome.Joined, room.Join(user, out var joined, Now));
            Registry.AddUser(user);
            Broadcaster.WelcomeAsync(joined!, new RoomWelcome("e", "t", []), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            var member = new Member(user, outbox);
            member.Drain();
            return member;
        }

        public async Task<PresenceClaim> Claim(RoomId room, string name, long connection) =>
            await Presence.ClaimAsync(room, new User(new ConnectionId(connection), UserName.Create(name), Now, $"token-{connection}"), null, Ct);
    }

    private sealed record Member(User User, ClientOutbox Outbox)
    {
        public List<byte[]> Drain()
        {
            var frames = new List<byte[]>();
            while (Outbox.Reader.TryRead(out var frame))
            {
                frames.Add(frame);
            }

            return frames;
        }

        public async Task<List<JsonElement>> ReadAsync(int count, TimeSpan? wait = null)
        {
            var frames = new List<JsonElement>();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(wait ?? TimeSpan.FromSeconds(10));
            while (frames.Count < count)
            {
                var frame = await Outbox.Reader.ReadAsync(timeout.Token);
                frames.Add(JsonDocument.Parse(Encoding.UTF8.GetString(frame)).RootElement.Clone());
            }

            return frames;
        }
    }
}
