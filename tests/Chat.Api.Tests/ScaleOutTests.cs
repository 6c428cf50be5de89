using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Chat.Testing;

namespace Chat.Api.Tests;

/// <summary>
/// Several Chat.Api processes and one real redis-server (Debian's, on a loopback port): they are one chat. Clients on
/// different replicas hear each other in one order with the same ids, see one online list, cannot hold one name twice,
/// resume on another replica than the one they lost, hear that a killed replica's users left, and live through Redis
/// going away and coming back.
/// </summary>
public sealed class ScaleOutTests : IAsyncLifetime
{
    private static readonly TimeSpan PresenceTimeout = TimeSpan.FromSeconds(3);
    private readonly RedisServer redis = new();
    private readonly string folder = Directory.CreateTempSubdirectory("chat-scaleout-").FullName;
    private readonly List<ApiProcess> replicas = [];

    public async ValueTask InitializeAsync() => await redis.InitializeAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in replicas)
        {
            await replica.DisposeAsync();
        }

        await redis.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Members_on_two_replicas_hear_each_other_in_one_order_with_the_same_ids()
    {
        var (a, b) = (await StartReplicaAsync(), await StartReplicaAsync());
        var alice = await JoinAsync(a, "alice", "lobby");
        var bob = await TestChatClient.ConnectAsync(b.WebSocketAddress, "bob", "lobby");
        var epoch = (await bob.NextEventAsync("user_joined")).GetProperty("epoch").GetString();
        var carol = await JoinAsync(a, "carol", "lobby");
        Assert.Equal("bob", (await alice.NextEventAsync("user_joined")).GetProperty("user_name").GetString());

        const int each = 60;
        await Task.WhenAll(SendAsync(alice, "a", each), SendAsync(bob, "b", each));
        var heard = await Task.WhenAll(ReadMessagesAsync(alice, 2 * each), ReadMessagesAsync(bob, 2 * each), ReadMessagesAsync(carol, 2 * each));

        // One order: the same (id, text) sequence on both replicas, ids consecutive, each sender's order kept.
        Assert.Equal(heard[0], heard[1]);
        Assert.Equal(heard[0], heard[2]);
        var ids = heard[0].Select(m => m.Id).ToArray();
        Assert.Equal(Enumerable.Range(0, 2 * each).Select(i => ids[0] + i), ids);
        Assert.Equal(Enumerable.Range(0, each).Select(i => $"a{i}"), heard[0].Where(m => m.Text[0] == 'a').Select(m => m.Text));
        Assert.Equal(Enumerable.Range(0, each).Select(i => $"b{i}"), heard[0].Where(m => m.Text[0] == 'b').Select(m => m.Text));

        // Stored once each, in the replicas' shared store, whichever replica is asked.
        using var http = new HttpClient();
        var page = await http.GetFromJsonAsync<JsonElement>(new Uri(b.HttpAddress, "/room/lobby/messages?limit=100"), TestContext.Current.CancellationToken);
        var stored = page.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("id").GetInt64(), m.GetProperty("message").GetString()!)).ToArray();
        Assert.Equal(heard[0].TakeLast(100).Select(m => (m.Id, m.Text)), stored);
        Assert.Equal(epoch, page.GetProperty("epoch").GetString());
    }

    [Fact]
    public async Task The_online_list_and_the_stats_are_the_whole_room_on_every_replica()
    {
        var (a, b) = (await StartReplicaAsync(), await StartReplicaAsync());
        await JoinAsync(a, "alice", "lobby");
        var bob = await TestChatClient.ConnectAsync(b.WebSocketAddress, "bob", "lobby");
        var welcome = await bob.NextEventAsync("user_joined");
        Assert.Equal(["alice", "bob"], welcome.GetProperty("users").EnumerateArray().Select(u => u.GetString()));

        using var http = new HttpClient();
        foreach (var replica in new[] { a, b })
        {
            var room = await http.GetFromJsonAsync<JsonElement>(new Uri(replica.HttpAddress, "/room/lobby/stats"), TestContext.Current.CancellationToken);
            Assert.Equal(2, room.GetProperty("user_count").GetInt32());
            var stats = await http.GetFromJsonAsync<JsonElement>(new Uri(replica.HttpAddress, "/stats"), TestContext.Current.CancellationToken);
            Assert.Equal(2, stats.GetProperty("total_users").GetInt32());
        }
    }

    [Fact]
    public async Task Typing_on_one_replica_reaches_the_opted_in_members_on_the_other()
    {
        var (a, b) = (await StartReplicaAsync(), await StartReplicaAsync());
        var alice = await TestChatClient.ConnectAsync(a.WebSocketAddress, "alice", "lobby", query: "features=typing");
        await alice.NextEventAsync("user_joined");
        var bob = await JoinAsync(b, "bob", "lobby");
        await alice.NextEventAsync("user_joined");

        await bob.SendTextAsync("{\"type\":\"typing\"}");

        var typing = await alice.NextEventAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(("typing", "bob"), (typing.GetProperty("type").GetString(), typing.GetProperty("user_name").GetString()));
        Assert.False(typing.TryGetProperty("message", out _));
    }

    [Fact]
    public async Task Two_people_racing_for_one_name_on_two_replicas_exactly_one_wins()
    {
        var (a, b) = (await StartReplicaAsync(), await StartReplicaAsync());
        for (var round = 0; round < 10; round++)
        {
            var name = $"racer{round}";
            var outcomes = await Task.WhenAll(TryJoinAsync(a, name), TryJoinAsync(b, name));
            Assert.Equal(1, outcomes.Count(joined => joined));
        }
    }

    [Fact]
    public async Task A_killed_replicas_users_are_announced_as_left_within_the_timeout_and_their_names_are_free()
    {
        var (a, b) = (await StartReplicaAsync(), await StartReplicaAsync());
        var alice = await JoinAsync(a, "alice", "lobby");
        await JoinAsync(b, "bob", "lobby");
        await alice.NextEventAsync("user_joined");

        var clock = Stopwatch.StartNew();
        await b.KillAsync();
        var left = await alice.NextEventAsync("user_left", TimeSpan.FromSeconds(30));
        var took = clock.Elapsed;
        Assert.Equal("bob", left.GetProperty("user_name").GetString());
        // Expired after the timeout, noticed by the next sweep (every third of it), with room for a loaded machine.
        Assert.InRange(took, TimeSpan.Zero, PresenceTimeout + PresenceTimeout / 3 + TimeSpan.FromSeconds(3));

        var newBob = await JoinAsync(a, "bob", "lobby");
        Assert.Equal(WebSocketState.Open, newBob.State);
    }

    [Fact]
    public async Task A_client_resumes_on_another_replica_than_the_one_it_lost_and_nobody_hears_it_leave()
    {
        var (a, b) = (await StartReplicaAsync(), await StartReplicaAsync());
        var alice = await TestChatClient.ConnectAsync(a.WebSocketAddress, "alice", "lobby");
        var welcome = await alice.NextEventAsync("user_joined");
        var (epoch, token) = (welcome.GetProperty("epoch").GetString()!, welcome.GetProperty("resume_token").GetString()!);
        var bob = await JoinAsync(b, "bob", "lobby");

        await SendAsync(bob, "before", 5);
        var seen = await ReadMessagesAsync(alice, 5);
        alice.Abort();
        await SendAsync(bob, "missed", 20);

        // Back within the reconnect grace, on the other replica, with its token: a takeover there.
        var back = await TestChatClient.ConnectAsync(b.WebSocketAddress, "alice", "lobby",
            query: $"since={seen[^1].Id}&epoch={Uri.EscapeDataString(epoch)}&token={Uri.EscapeDataString(token)}");
        var resumed = await back.NextEventAsync("user_joined");
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        var missed = await ReadMessagesAsync(back, 20);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"missed{i}"), missed.Select(m => m.Text));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => seen[^1].Id + i), missed.Select(m => m.Id));

        // Bob heard neither a departure nor an arrival of alice, only messages, up to her next one.
        await SendAsync(back, "after", 1);
        while (true)
        {
            var next = await bob.NextEventAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("chat_message", next.GetProperty("type").GetString());
            if (next.GetProperty("message").GetString() == "after0")
            {
                break;
            }
        }
    }

    [Fact]
    public async Task Redis_going_away_and_coming_back_mid_chat_loses_nothing_silently()
    {
        var (a, b) = (await StartReplicaAsync(), await StartReplicaAsync());
        var alice = await TestChatClient.ConnectAsync(a.WebSocketAddress, "alice", "lobby");
        var welcome = await alice.NextEventAsync("user_joined");
        var bob = await TestChatClient.ConnectAsync(b.WebSocketAddress, "bob", "lobby");
        var bobWelcome = await bob.NextEventAsync("user_joined");
        await SendAsync(bob, "hello", 1);
        var seen = await ReadMessagesAsync(alice, 1);

        await redis.StopAsync();

        // Each message that cannot be published is answered with an error; nobody is disconnected for it.
        await SendAsync(alice, "lost", 1);
        var error = await alice.NextEventAsync("error", TimeSpan.FromSeconds(30));
        Assert.Contains("could not be sent", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(WebSocketState.Open, alice.State);
        Assert.Equal(WebSocketState.Open, bob.State);
        using var http = new HttpClient();
        using (var health = await http.GetAsync(new Uri(a.HttpAddress, "/health"), TestContext.Current.CancellationToken))
        {
            Assert.Contains("redis", await health.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.OrdinalIgnoreCase);
            Assert.NotEqual(System.Net.HttpStatusCode.OK, health.StatusCode);
        }

        // Not ready for new clients, but alive: an orchestrator routes around it instead of restarting it.
        using (var ready = await http.GetAsync(new Uri(a.HttpAddress, "/ready"), TestContext.Current.CancellationToken))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        using (var alive = await http.GetAsync(new Uri(a.HttpAddress, "/alive"), TestContext.Current.CancellationToken))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, alive.StatusCode);
        }

        // Redis comes back empty (no persistence): the room's stream starts anew, so both replicas ask their members to
        // reconnect; resuming says what it can (recovered false, a new epoch), and the chat goes on across replicas.
        await redis.StartAsync();
        var (status, _) = await alice.WaitForCloseAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((WebSocketCloseStatus)1012, status);
        var aliceBack = await TestChatClient.ConnectAsync(a.WebSocketAddress, "alice", "lobby",
            query: $"since={seen[^1].Id}&epoch={Uri.EscapeDataString(welcome.GetProperty("epoch").GetString()!)}"
                + $"&token={Uri.EscapeDataString(welcome.GetProperty("resume_token").GetString()!)}");
        var resumed = await aliceBack.NextEventAsync("user_joined");
        Assert.False(resumed.GetProperty("recovered").GetBoolean());
        Assert.NotEqual(welcome.GetProperty("epoch").GetString(), resumed.GetProperty("epoch").GetString());

        await bob.WaitForCloseAsync(TimeSpan.FromSeconds(30));
        var bobBack = await TestChatClient.ConnectAsync(b.WebSocketAddress, "bob", "lobby",
            query: $"token={Uri.EscapeDataString(bobWelcome.GetProperty("resume_token").GetString()!)}");
        await bobBack.NextEventAsync("user_joined");
        await SendAsync(bobBack, "again", 1);
        var again = await ReadMessagesAsync(aliceBack, 1, skipHistory: true);
        Assert.Equal("again0", again[0].Text);
        Assert.True(again[0].Id > seen[^1].Id, "ids go on from what the store holds: none is given twice");
    }

    [Fact]
    public async Task A_redis_that_comes_back_with_its_data_resumes_the_chat_without_a_gap()
    {
        var (a, b) = (await StartReplicaAsync(), await StartReplicaAsync());
        var alice = await TestChatClient.ConnectAsync(a.WebSocketAddress, "alice", "lobby");
        var welcome = await alice.NextEventAsync("user_joined");
        var (epoch, token) = (welcome.GetProperty("epoch").GetString()!, welcome.GetProperty("resume_token").GetString()!);
        var bob = await JoinAsync(b, "bob", "lobby");
        await SendAsync(bob, "before", 3);
        var seen = await ReadMessagesAsync(alice, 3);

        // Redis restarts with its data (a snapshot, as with persistence): nobody is asked to reconnect.
        await redis.StopSavingAsync();
        await redis.StartAsync();
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken); // the replicas reconnect

        // The same epoch: ids go on; alice, who dropped meanwhile, resumes on the other replica and recovers.
        alice.Abort();
        await SendAsync(bob, "after", 5);
        var back = await TestChatClient.ConnectAsync(b.WebSocketAddress, "alice", "lobby",
            query: $"since={seen[^1].Id}&epoch={Uri.EscapeDataString(epoch)}&token={Uri.EscapeDataString(token)}");
        var resumed = await back.NextEventAsync("user_joined", TimeSpan.FromSeconds(20));
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        Assert.Equal(epoch, resumed.GetProperty("epoch").GetString());
        var missed = await ReadMessagesAsync(back, 5);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"after{i}"), missed.Select(m => m.Text));
        Assert.Equal(Enumerable.Range(1, 5).Select(i => seen[^1].Id + i), missed.Select(m => m.Id));
        Assert.Equal(WebSocketState.Open, bob.State);
    }

    private async Task<ApiProcess> StartReplicaAsync()
    {
        var replica = await ApiProcess.StartAsync(Path.Combine(folder, "chat.db"), settings: new Dictionary<string, string>
        {
            ["ConnectionStrings:cache"] = redis.ConnectionString,
            ["Chat:Presence:Timeout"] = PresenceTimeout.ToString(),
        });
        replicas.Add(replica);
        return replica;
    }

    private static async Task<TestChatClient> JoinAsync(ApiProcess replica, string name, string room)
    {
        var client = await TestChatClient.ConnectAsync(replica.WebSocketAddress, name, room);
        var welcome = await client.NextEventAsync("user_joined");
        Assert.Equal(name, welcome.GetProperty("user_name").GetString());
        return client;
    }

    private static async Task<bool> TryJoinAsync(ApiProcess replica, string name)
    {
        var client = await TestChatClient.ConnectAsync(replica.WebSocketAddress, name, "race");
        try
        {
            var first = await client.NextEventAsync();
            return first.GetProperty("type").GetString() == "user_joined";
        }
        catch (InvalidOperationException)
        {
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
            return false;
        }
    }

    private static async Task SendAsync(TestChatClient client, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await client.SendMessageAsync($"{prefix}{i}");
        }
    }

    private static async Task<List<(long Id, string Text)>> ReadMessagesAsync(TestChatClient client, int count, bool skipHistory = false)
    {
        var messages = new List<(long Id, string Text)>(count);
        while (messages.Count < count)
        {
            var message = await client.NextEventAsync("chat_message", TimeSpan.FromSeconds(30));
            if (skipHistory && message.TryGetProperty("history", out _))
            {
                continue;
            }

            messages.Add((message.GetProperty("id").GetInt64(), message.GetProperty("message").GetString()!));
        }

        return messages;
    }
}
