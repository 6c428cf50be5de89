using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat.Api.Tests;

public sealed class HardeningTests
{
    [Fact]
    public async Task Invalid_utf8_closes_with_1007_and_others_carry_on()
    {
        await using var api = new ChatApiFactory();
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();
        await using var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync();

        await alice.SendAsync([0x68, 0xC3, 0x28], WebSocketMessageType.Text);

        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, (await alice.WaitForCloseAsync()).Status);
        Assert.Equal("alice", (await bob.NextEventAsync("user_left")).GetProperty("user_name").GetString());
    }

    [Theory]
    [InlineData("bell\u0007", "control characters")]
    [InlineData("null\u0000byte", "control characters")]
    [InlineData("\u200b\u200b", "must not be empty")]
    [InlineData("emoji-over", "at most 1000")]
    [InlineData("combining-over", "at most 1000")]
    public async Task Bad_text_is_refused_to_the_sender_alone_and_text_at_the_limit_is_delivered(string text, string error)
    {
        await using var api = new ChatApiFactory();
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();
        await using var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync();
        await alice.NextEventAsync("user_joined");
        var family = "👨‍👩‍👧‍👦";
        var accented = "e\u0301\u0323";
        var (over, atLimit) = text switch
        {
            "emoji-over" => (string.Concat(Enumerable.Repeat(family, 1001)), string.Concat(Enumerable.Repeat(family, 1000))),
            "combining-over" => (string.Concat(Enumerable.Repeat(accented, 1001)), string.Concat(Enumerable.Repeat(accented, 1000))),
            _ => (text, "fine"),
        };

        await alice.SendMessageAsync(over);
        var refusal = await alice.NextEventAsync();
        Assert.Equal("error", refusal.GetProperty("type").GetString());
        Assert.Contains(error, refusal.GetProperty("message").GetString(), StringComparison.Ordinal);

        await alice.SendMessageAsync(atLimit);
        var delivered = await bob.NextEventAsync();
        Assert.Equal("chat_message", delivered.GetProperty("type").GetString());
        Assert.Equal(atLimit.Normalize(), delivered.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_burst_of_200_is_paced_and_every_member_gets_all_of_it_in_order_while_others_chat_on()
    {
        const int count = 200;
        await using var api = new ChatApiFactory(new() { ["Chat:MessagesPerSecond"] = "40", ["Chat:MessageBurst"] = "20" });
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();
        await using var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync();
        await using var carol = await api.ConnectAsync("carol");
        await carol.NextEventAsync();
        await alice.NextEventAsync("user_joined");
        await alice.NextEventAsync("user_joined");
        await bob.NextEventAsync("user_joined");

        // Alice writes like a script pasting a log: as fast as the socket takes it, half JSON, half plain text.
        for (var i = 0; i < count; i++)
        {
            if (i % 2 == 0)
            {
                await alice.SendMessageAsync($"line {i}");
            }
            else
            {
                await alice.SendTextAsync($"line {i}");
            }
        }

        var started = Stopwatch.GetTimestamp();
        var atAlice = ReadUntilAsync(alice, $"line {count - 1}");

        // Bob's own messages go out at once while Alice's wait for their turn.
        await bob.SendMessageAsync("bob is here");
        var atBob = new List<JsonElement>();
        while (atBob.Count == 0 || atBob[^1].GetProperty("message").GetString() != "bob is here")
        {
            atBob.Add(await bob.NextEventAsync());
        }

        var bobRoundTrip = Stopwatch.GetElapsedTime(started);
        atBob.AddRange(await ReadUntilAsync(bob, $"line {count - 1}"));
        var atCarol = await ReadUntilAsync(carol, $"line {count - 1}");
        var aliceEvents = await atAlice;
        var elapsed = Stopwatch.GetElapsedTime(started);

        string[] expected = [.. Enumerable.Range(0, count).Select(i => $"line {i}")];
        Assert.Equal(expected, Lines(atBob));
        Assert.Equal(expected, Lines(atCarol));
        Assert.Equal(expected, Lines(aliceEvents));
        var notice = Assert.Single(aliceEvents, e => e.GetProperty("type").GetString() == "error");
        Assert.Equal("paced", notice.GetProperty("code").GetString());
        Assert.StartsWith("Slow down", notice.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(atBob.Concat(atCarol), e => e.GetProperty("type").GetString() is "error" or "user_left");
        Assert.Equal(WebSocketState.Open, alice.State);

        // 180 messages past the burst at 40 a second take 4.5 s; Bob did not wait for them.
        Assert.True(elapsed > TimeSpan.FromSeconds(4), $"The burst was not paced: all delivered in {elapsed}.");
        Assert.True(bobRoundTrip < TimeSpan.FromSeconds(2), $"Bob waited {bobRoundTrip} behind Alice's burst.");

        static string[] Lines(IEnumerable<JsonElement> events) => [.. events
            .Where(e => e.GetProperty("type").GetString() == "chat_message" && e.GetProperty("user_name").GetString() == "alice")
            .Select(e => e.GetProperty("message").GetString()!)];
    }

    [Fact]
    public async Task A_client_that_keeps_sending_invalid_messages_is_closed_with_1008_and_a_valid_one_resets_the_count()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:FloodDisconnectAfter"] = "5" });
        await using var mallory = await api.ConnectAsync("mallory");
        await mallory.NextEventAsync();
        await using var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync();
        await mallory.NextEventAsync("user_joined");

        for (var i = 0; i < 4; i++)
        {
            await mallory.SendTextAsync("""{"message": 5}""");
            Assert.Equal("error", (await mallory.NextEventAsync()).GetProperty("type").GetString());
        }

        await mallory.SendMessageAsync("valid");
        Assert.Equal("chat_message", (await mallory.NextEventAsync()).GetProperty("type").GetString());
        for (var i = 0; i < 4; i++)
        {
            await mallory.SendMessageAsync("");
            Assert.Equal("error", (await mallory.NextEventAsync()).GetProperty("type").GetString());
        }

        await mallory.SendMessageAsync("\u0007");
        var (status, reason) = await mallory.WaitForCloseAsync();

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Equal("Too many invalid messages in a row.", reason);
        Assert.Equal("mallory", (await bob.NextEventAsync("user_left")).GetProperty("user_name").GetString());
    }

    [Fact]
    public async Task Upgrades_over_the_connection_limits_are_refused_with_a_status_code()
    {
        await using (var perAddress = new ChatApiFactory(new() { ["Chat:MaxConnectionsPerAddress"] = "2" }))
        {
            await using var a = await perAddress.ConnectAsync("a");
            await using var b = await perAddress.ConnectAsync("b");
            var refused = await Assert.ThrowsAsync<WebSocketConnectException>(() => perAddress.ConnectAsync("c"));
            Assert.Equal(429, refused.StatusCode);

            await a.CloseAsync();
            await WaitForAsync(async () => (await TryConnectAsync(perAddress, "c")) is { } c && await Dispose(c));
        }

        await using var total = new ChatApiFactory(new() { ["Chat:MaxConnections"] = "1" });
        await using var only = await total.ConnectAsync("only");
        var full = await Assert.ThrowsAsync<WebSocketConnectException>(() => total.ConnectAsync("second"));
        Assert.Equal(503, full.StatusCode);
    }

    [Fact]
    public async Task A_peer_that_vanishes_without_closing_is_removed_by_the_keep_alive()
    {
        await using var api = new ChatApiFactory(new()
        {
            ["Chat:KeepAliveInterval"] = "00:00:00.500",
            ["Chat:KeepAliveTimeout"] = "00:00:01",
        });
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();
        await using var silent = await RawSocketClient.ConnectAsync(api.HttpAddress, "silent");
        await alice.NextEventAsync("user_joined");

        var started = Stopwatch.GetTimestamp();
        var left = await alice.NextEventAsync("user_left", TimeSpan.FromSeconds(15));
        Assert.Equal("silent", left.GetProperty("user_name").GetString());
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_half_sent_upgrade_request_is_cut_off_after_the_header_timeout()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:RequestHeadersTimeout"] = "00:00:01" });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(api.HttpAddress.Host, api.HttpAddress.Port, TestContext.Current.CancellationToken);
        var stream = tcp.GetStream();
        await stream.WriteAsync("GET /ws/slowloris HTTP/1.1\r\nHost: x\r\n"u8.ToArray(), TestContext.Current.CancellationToken);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = new byte[1024];
        var total = 0;
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                total += read;
            }
        }
        catch (IOException)
        {
            // A reset is as good as a close: the server let go.
        }

        Assert.False(timeout.IsCancellationRequested, "The server kept the half-open request.");
    }

    [Fact]
    public async Task An_upgrade_with_headers_just_under_the_limit_is_read_whole_and_joins()
    {
        // The transport reads only 4 KB ahead of the app (so that a paced sender's backlog waits in TCP); a 15 KB
        // header still goes through.
        await using var api = new ChatApiFactory();
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-Padding", new string('a', 15 * 1024));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));

        await socket.ConnectAsync(new Uri(api.WebSocketAddress, "/ws/alice"), timeout.Token);

        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [Fact]
    public async Task Api_answers_carry_security_headers_and_problems_carry_no_exception_details()
    {
        await using var api = new ChatApiFactory();
        using var http = api.CreateHttpClient();
        using var stats = await http.GetAsync(new Uri("/stats", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal("nosniff", stats.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", stats.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", stats.Headers.GetValues("Referrer-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", stats.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.False(stats.Headers.Contains("Server"));

        using var missing = await http.GetAsync(new Uri("/room/no-such-room/stats", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var body = await missing.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_thousand_connect_disconnect_cycles_beside_chat_traffic_leave_no_member_behind()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:MessagesPerSecond"] = "100000", ["Chat:MessageBurst"] = "100000" });
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();
        await using var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync();

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var chatter = Task.Run(async () =>
        {
            for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
            {
                await alice.SendMessageAsync($"m{i}");
                await Task.Delay(5, CancellationToken.None);
            }
        }, CancellationToken.None);
        var drainBob = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await bob.NextEventAsync(TimeSpan.FromSeconds(30));
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);

        const int workers = 10;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 1000 / workers; i++)
            {
                var client = await api.ConnectAsync($"c{w}-{i}", room: i % 3 == 0 ? $"side{w % 2}" : null);
                await client.NextEventAsync();
                if (i % 2 == 0)
                {
                    await client.CloseAsync();
                }
                else
                {
                    client.Abort();
                }

                await client.DisposeAsync();
            }
        }, TestContext.Current.CancellationToken)));

        await stop.CancelAsync();
        await chatter;
        using var http = api.CreateHttpClient();
        var stats = await WaitForStatsAsync(http, s => s.GetProperty("total_users").GetInt32() == 2);
        Assert.Equal(2, stats.GetProperty("total_users").GetInt32());
        Assert.Equal(["general"], stats.GetProperty("rooms").EnumerateArray().Select(r => r.GetProperty("room_id").GetString()));
        Assert.Equal(2, stats.GetProperty("rooms")[0].GetProperty("user_count").GetInt32());
        Assert.Equal(WebSocketState.Open, alice.State);
    }

    /// <summary>Every event up to and including the chat message with this text.</summary>
    private static async Task<List<JsonElement>> ReadUntilAsync(TestChatClient client, string last)
    {
        var events = new List<JsonElement>();
        while (events.Count == 0 || events[^1].GetProperty("message").GetString() != last)
        {
            events.Add(await client.NextEventAsync());
        }

        return events;
    }

    private static async Task<JsonElement> WaitForStatsAsync(HttpClient http, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var stats = await http.GetFromJsonAsync<JsonElement>(new Uri("/stats", UriKind.Relative), TestContext.Current.CancellationToken);
            if (condition(stats) || DateTime.UtcNow > deadline)
            {
                return stats;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    private static async Task<TestChatClient?> TryConnectAsync(ChatApiFactory api, string name)
    {
        try
        {
            return await api.ConnectAsync(name);
        }
        catch (WebSocketConnectException)
        {
            return null;
        }
    }

    private static async Task<bool> Dispose(TestChatClient client)
    {
        await client.DisposeAsync();
        return true;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 10 s.");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
