using System.Net.WebSockets;
using System.Text.Json;

namespace Chat.Api.Tests;

public sealed class ConnectionPolicyTests
{
    [Fact]
    public async Task An_upgrade_from_a_foreign_origin_is_refused_with_403_and_an_allowed_one_joins()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:AllowedOrigins:0"] = "http://chat.example" });

        var refused = await Assert.ThrowsAsync<WebSocketConnectException>(() => api.ConnectAsync("mallory", origin: "http://evil.example"));
        Assert.Equal(403, refused.StatusCode);

        await using var browser = await api.ConnectAsync("alice", origin: "http://chat.example");
        Assert.Equal("user_joined", (await browser.NextEventAsync()).GetProperty("type").GetString());
        await using var script = await api.ConnectAsync("bot");
        Assert.Equal("user_joined", (await script.NextEventAsync()).GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("Chat:MaxMessageLength", "0")]
    [InlineData("Chat:DefaultRoom", "not a room!")]
    [InlineData("Chat:OutboundQueueCapacity", "0")]
    [InlineData("Chat:OutboundQueueBurstCapacity", "10")]
    [InlineData("Chat:SlowClientGrace", "-00:00:01")]
    [InlineData("Chat:AllowedOrigins:0", "not-an-origin")]
    public async Task Settings_the_server_cannot_run_with_stop_it_at_start_up(string key, string value)
    {
        // As its own process: the server must exit, not merely fail a test host (whose start-up races its disposal).
        var folder = Directory.CreateTempSubdirectory("chat-settings-").FullName;
        try
        {
            var (exitCode, output) = await ApiProcess.RunUntilExitAsync(
                Path.Combine(folder, "chat.db"), new Dictionary<string, string> { [key] = value });

            Assert.NotEqual(0, exitCode);
            Assert.Contains("OptionsValidationException", output, StringComparison.Ordinal);
            Assert.Contains(key.Split(':')[1], output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_page_of_the_same_site_may_connect_directly_or_through_the_proxy()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:AllowedOrigins:0"] = "http://chat.example" });
        var ownOrigin = $"http://{api.HttpAddress.Authority}";

        await using var direct = await api.ConnectAsync("alice", origin: ownOrigin);
        Assert.Equal("user_joined", (await direct.NextEventAsync()).GetProperty("type").GetString());

        using var proxied = new ClientWebSocket();
        proxied.Options.SetRequestHeader("Origin", "http://127.0.0.1:5000");
        proxied.Options.SetRequestHeader("X-Forwarded-Host", "127.0.0.1:5000");
        await proxied.ConnectAsync(new Uri(api.WebSocketAddress, "/ws/bob"), TestContext.Current.CancellationToken);
        Assert.Equal(WebSocketState.Open, proxied.State);

        var foreign = await Assert.ThrowsAsync<WebSocketConnectException>(
            () => api.ConnectAsync("mallory", origin: "http://127.0.0.1:5000"));
        Assert.Equal(403, foreign.StatusCode);
    }

    [Fact]
    public async Task A_client_that_stops_reading_is_dropped_as_too_slow_while_the_others_get_everything()
    {
        await using var api = new ChatApiFactory(new()
        {
            ["Chat:OutboundQueueCapacity"] = "64",
            ["Chat:SlowClientGrace"] = "00:00:00.200",
            ["Chat:MessagesPerSecond"] = "100000",
            ["Chat:MessageBurst"] = "100000",
        });
        await using var stuck = await RawSocketClient.ConnectAsync(api.HttpAddress, "stuck");
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync("user_joined");
        await using var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync("user_joined");

        // Large frames fill the socket buffers between the server and the stuck client quickly.
        var text = string.Concat(Enumerable.Repeat("€", 1000));
        const int count = 3000;
        var received = new int[2];
        var stuckLeft = new TaskCompletionSource();
        var readers = new[] { alice, bob }.Select((client, index) => Task.Run(async () =>
        {
            while (Volatile.Read(ref received[index]) < count)
            {
                var e = await client.NextEventAsync(TimeSpan.FromSeconds(30));
                switch (e.GetProperty("type").GetString())
                {
                    case "chat_message":
                        Interlocked.Increment(ref received[index]);
                        break;
                    case "user_left" when e.GetProperty("user_name").GetString() == "stuck":
                        stuckLeft.TrySetResult();
                        break;
                }
            }
        }, TestContext.Current.CancellationToken)).ToArray();

        for (var i = 0; i < count; i++)
        {
            await alice.SendMessageAsync(text);
            while (i - Volatile.Read(ref received[1]) > 32 || i - Volatile.Read(ref received[0]) > 32)
            {
                await Task.Delay(1, TestContext.Current.CancellationToken);
            }
        }

        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.Equal([count, count], received);
        if (!stuckLeft.Task.IsCompleted)
        {
            // Dropping the stuck client takes up to the close timeout, so its departure may come after the messages.
            Assert.Equal("stuck", (await alice.NextEventAsync("user_left", TimeSpan.FromSeconds(10))).GetProperty("user_name").GetString());
        }
    }

    [Fact]
    public async Task A_sender_whose_own_queue_is_long_is_held_back_rather_than_anyone_being_dropped()
    {
        await using var api = new ChatApiFactory(new()
        {
            ["Chat:OutboundQueueCapacity"] = "16",
            ["Chat:OutboundQueueBurstCapacity"] = "100000",
            ["Chat:SlowClientGrace"] = "00:01:00",
            ["Chat:MessagesPerSecond"] = "1000000",
            ["Chat:MessageBurst"] = "1000000",
        });
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync("user_joined");
        await using var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync("user_joined");
        await alice.NextEventAsync("user_joined");

        // Alice sends far more than the socket buffers hold of her own echoes, and does not read them for now.
        const int count = 10_000;
        var text = string.Concat(Enumerable.Repeat("€", 1000));
        var atBob = 0;
        var bobReads = Task.Run(async () =>
        {
            while (atBob < count)
            {
                if ((await bob.NextEventAsync(TimeSpan.FromSeconds(30))).GetProperty("type").GetString() == "chat_message")
                {
                    Interlocked.Increment(ref atBob);
                }
            }
        }, TestContext.Current.CancellationToken);
        var aliceSends = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await alice.SendMessageAsync(text);
            }
        }, TestContext.Current.CancellationToken);

        // Once her queue is long the server stops reading her: Bob's count stops short while she is not reading.
        var heard = -1;
        while (heard != Volatile.Read(ref atBob))
        {
            heard = Volatile.Read(ref atBob);
            await Task.Delay(1000, TestContext.Current.CancellationToken);
        }

        Assert.InRange(heard, 1, count - 1);

        // When she reads again, everything flows: both get every message and nobody was dropped.
        var atAlice = 0;
        while (atAlice < count)
        {
            var e = await alice.NextEventAsync(TimeSpan.FromSeconds(30));
            Assert.NotEqual("user_left", e.GetProperty("type").GetString());
            atAlice += e.GetProperty("type").GetString() == "chat_message" ? 1 : 0;
        }

        await Task.WhenAll(aliceSends, bobReads).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.Equal(count, atBob);
    }

    [Fact]
    public async Task Every_message_accepted_before_a_stop_reaches_everyone_before_the_1001()
    {
        var api = new ChatApiFactory(new() { ["Chat:MessagesPerSecond"] = "100000", ["Chat:MessageBurst"] = "100000" });
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();
        await using var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync();
        await alice.NextEventAsync("user_joined");

        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < 100_000 && alice.State == WebSocketState.Open; i++)
            {
                try
                {
                    // Brisk but readable: a sender far faster than it reads would rightly be dropped as too slow.
                    await alice.SendMessageAsync($"m{i}");
                    if (i % 10 == 0)
                    {
                        await Task.Delay(1, CancellationToken.None);
                    }
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException)
                {
                    break;
                }
            }
        }, TestContext.Current.CancellationToken);
        var seenByAlice = ReadMessagesUntilClosedAsync(alice);
        var seenByBob = ReadMessagesUntilClosedAsync(bob);

        await Task.Delay(200, TestContext.Current.CancellationToken);
        await api.DisposeAsync();
        var (aliceMessages, aliceStatus) = await seenByAlice;
        var (bobMessages, bobStatus) = await seenByBob;
        await sending;

        Assert.NotEmpty(aliceMessages);
        Assert.Equal(aliceMessages, bobMessages);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, aliceStatus);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, bobStatus);
    }

    private static Task<(List<string> Messages, WebSocketCloseStatus? Status)> ReadMessagesUntilClosedAsync(TestChatClient client) =>
        Task.Run(async () =>
        {
            var messages = new List<string>();
            while (true)
            {
                JsonElement next;
                try
                {
                    next = await client.NextEventAsync(TimeSpan.FromSeconds(20));
                }
                catch (InvalidOperationException)
                {
                    return (messages, client.CloseStatus);
                }

                if (next.GetProperty("type").GetString() == "chat_message")
                {
                    messages.Add(next.GetProperty("message").GetString()!);
                }
            }
        });

    [Fact]
    public async Task Stopping_the_server_closes_every_client_with_1001()
    {
        var api = new ChatApiFactory();
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();

        var closed = alice.WaitForCloseAsync(TimeSpan.FromSeconds(15));
        await api.DisposeAsync();
        var (status, _) = await closed;
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status);
    }
}
