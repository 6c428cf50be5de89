using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;

namespace Chat.Api.Tests;

/// <summary>
/// History over real sockets and a real SQLite file: what a newcomer is sent, what a reconnecting client recovers,
/// how a session is taken back, paging, and what survives a restart.
/// </summary>
public sealed class HistoryTests
{
    private static CancellationToken CancellationToken => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_newcomer_gets_its_welcome_then_the_rooms_latest_messages_marked_as_history()
    {
        await using var api = new ChatApiFactory();
        await using var alice = await JoinAsync(api, "alice", "h1");
        var sent = await SendAsync(alice, "one", "two", "three");

        await using var bob = await api.ConnectAsync("bob", "h1");
        var welcome = await bob.NextEventAsync();
        Assert.Equal("user_joined", welcome.GetProperty("type").GetString());
        Assert.Equal("bob", welcome.GetProperty("user_name").GetString());
        Assert.False(string.IsNullOrEmpty(welcome.GetProperty("epoch").GetString()));
        Assert.True(welcome.GetProperty("resume_token").GetString()!.Length >= 22);
        Assert.False(welcome.TryGetProperty("recovered", out _));

        var history = await NextMessagesAsync(bob, 3);
        Assert.Equal(["one", "two", "three"], history.Select(m => m.GetProperty("message").GetString()));
        Assert.Equal(sent, history.Select(Id));
        Assert.All(history, m => Assert.True(m.GetProperty("history").GetBoolean()));

        // Live ones follow, unmarked, with the next id.
        await alice.SendMessageAsync("four");
        var live = await bob.NextEventAsync("chat_message");
        Assert.Equal(sent[^1] + 1, Id(live));
        Assert.False(live.TryGetProperty("history", out _));
    }

    [Fact]
    public async Task A_client_that_dropped_resumes_with_exactly_what_it_missed_while_others_kept_sending()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:MessagesPerSecond"] = "1000", ["Chat:MessageBurst"] = "1000" });
        await using var alice = await JoinAsync(api, "alice", "h2");
        var bob = await api.ConnectAsync("bob", "h2");
        var welcome = await bob.NextEventAsync("user_joined");
        await SendAsync(alice, "before 1", "before 2");
        var seen = (await NextMessagesAsync(bob, 2)).Select(Id).ToList();

        bob.Abort();
        await bob.DisposeAsync();
        await alice.NextEventAsync("user_left");

        // Alice keeps talking through bob's absence and his return.
        using var stop = new CancellationTokenSource();
        var talking = Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested && n < 400)
            {
                await alice.SendMessageAsync($"during {n++}");
                await Task.Delay(5, CancellationToken);
            }

            return n;
        }, CancellationToken);
        await Task.Delay(200, CancellationToken);

        await using var back = await api.ConnectAsync("bob", "h2", query: ResumeQuery(seen[^1], welcome));
        var resumed = await back.NextEventAsync("user_joined");
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        await Task.Delay(200, CancellationToken);
        await stop.CancelAsync();
        var total = await talking;

        // Every message alice sent after the drop arrives once, in order, whether from history or live.
        var received = (await NextMessagesAsync(back, total)).Select(Id).ToList();
        Assert.Equal(Enumerable.Range((int)seen[^1] + 1, total).Select(i => (long)i), received);
    }

    [Fact]
    public async Task A_client_that_missed_more_than_the_resume_limit_is_told_it_did_not_recover_and_gets_the_latest()
    {
        await using var api = new ChatApiFactory(new()
        {
            ["Chat:History:MaxResume"] = "3", ["Chat:History:OnJoin"] = "2",
            ["Chat:MessagesPerSecond"] = "1000", ["Chat:MessageBurst"] = "1000",
        });
        await using var alice = await JoinAsync(api, "alice", "h3");
        var sent = await SendAsync(alice, "1", "2", "3", "4", "5", "6");

        await using var bob = await api.ConnectAsync("bob", "h3", query: $"since={sent[0]}&epoch={await EpochAsync(api, "h3")}");
        var welcome = await bob.NextEventAsync("user_joined");
        Assert.False(welcome.GetProperty("recovered").GetBoolean());
        Assert.Equal(sent[^2..], (await NextMessagesAsync(bob, 2)).Select(Id));
    }

    [Theory]
    [InlineData("since=abc&epoch=whatever")]
    [InlineData("since=1&epoch=not-this-rooms")]
    [InlineData("since=99999999999999999999&epoch=x")]
    [InlineData("since=-5")]
    public async Task A_resume_that_cannot_be_honoured_is_answered_not_recovered_and_never_refused(string query)
    {
        await using var api = new ChatApiFactory();
        await using var alice = await JoinAsync(api, "alice", "h4");
        await SendAsync(alice, "hello");

        await using var bob = await api.ConnectAsync("bob", "h4", query: query);
        var welcome = await bob.NextEventAsync("user_joined");
        Assert.False(welcome.GetProperty("recovered").GetBoolean());
        Assert.Equal("hello", (await bob.NextEventAsync("chat_message")).GetProperty("message").GetString());
    }

    [Fact]
    public async Task The_resume_token_takes_the_name_back_from_a_stale_connection_and_the_room_hears_nothing()
    {
        await using var api = new ChatApiFactory();
        await using var alice = await JoinAsync(api, "alice", "h5");
        await using var stale = await api.ConnectAsync("bob", "h5");
        var welcome = await stale.NextEventAsync("user_joined");
        await alice.NextEventAsync("user_joined");

        // Without the token (or with a forged one) the name stays taken, as before.
        await using var impostor = await api.ConnectAsync("bob", "h5", query: "token=AAAAAAAAAAAAAAAAAAAAAA");
        var (status, reason) = await impostor.WaitForCloseAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains("already taken", reason, StringComparison.Ordinal);

        await using var back = await api.ConnectAsync("bob", "h5", query: "token=" + welcome.GetProperty("resume_token").GetString());
        var resumed = await back.NextEventAsync("user_joined");
        Assert.Equal(["alice", "bob"], resumed.GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        Assert.NotEqual(welcome.GetProperty("resume_token").GetString(), resumed.GetProperty("resume_token").GetString());

        var (staleStatus, _) = await stale.WaitForCloseAsync();
        Assert.Equal((WebSocketCloseStatus)4001, staleStatus);

        // The room heard no leave and no join: the next thing alice hears is bob speaking on his new connection.
        await back.SendMessageAsync("still me");
        var next = await alice.NextEventAsync();
        Assert.Equal("chat_message", next.GetProperty("type").GetString());
        Assert.Equal("bob", next.GetProperty("user_name").GetString());
    }

    [Fact]
    public async Task A_client_back_within_the_grace_after_a_drop_takes_its_session_back_and_the_room_hears_nothing()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:ReconnectGrace"] = "00:00:10" });
        await using var alice = await JoinAsync(api, "alice", "h8");
        var bob = await api.ConnectAsync("bob", "h8");
        var welcome = await bob.NextEventAsync("user_joined");
        await alice.NextEventAsync("user_joined");
        var sent = await SendAsync(alice, "before");
        await bob.NextEventAsync("chat_message");

        // The network goes; the server notices at once (the socket breaks), but keeps bob's name for the grace.
        bob.Abort();
        await bob.DisposeAsync();
        var missed = await SendAsync(alice, "while away");

        await using var back = await api.ConnectAsync("bob", "h8", query:
            $"{ResumeQuery(sent[^1], welcome)}&token={welcome.GetProperty("resume_token").GetString()}");
        Assert.True((await back.NextEventAsync("user_joined")).GetProperty("recovered").GetBoolean());
        Assert.Equal(missed, (await NextMessagesAsync(back, 1)).Select(Id));

        // Alice heard no departure and no arrival: the next thing she hears is bob speaking.
        await back.SendMessageAsync("back");
        var next = await alice.NextEventAsync();
        Assert.Equal("chat_message", next.GetProperty("type").GetString());
        Assert.Equal("bob", next.GetProperty("user_name").GetString());
    }

    [Fact]
    public async Task Pages_go_back_through_history_and_bad_requests_get_clear_answers()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:MessagesPerSecond"] = "1000", ["Chat:MessageBurst"] = "1000" });
        await using var alice = await JoinAsync(api, "alice", "h6");
        var sent = await SendAsync(alice, "a", "b", "c", "d", "e");
        using var http = api.CreateHttpClient();

        var latest = await http.GetFromJsonAsync<JsonElement>("/room/h6/messages?limit=2", CancellationToken);
        Assert.Equal(sent[^2..], latest.GetProperty("messages").EnumerateArray().Select(Id));
        Assert.True(latest.GetProperty("has_more").GetBoolean());
        Assert.Equal(await EpochAsync(api, "h6"), latest.GetProperty("epoch").GetString());

        var older = await http.GetFromJsonAsync<JsonElement>($"/room/h6/messages?before={sent[^2]}&limit=10", CancellationToken);
        Assert.Equal(sent[..^2], older.GetProperty("messages").EnumerateArray().Select(Id));
        Assert.Equal(["a", "b", "c"], older.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("message").GetString()));
        Assert.False(older.GetProperty("has_more").GetBoolean());

        var beyond = await http.GetFromJsonAsync<JsonElement>($"/room/h6/messages?before={sent[0]}", CancellationToken);
        Assert.Empty(beyond.GetProperty("messages").EnumerateArray());

        foreach (var bad in new[] { "limit=101", "limit=0", "limit=x", "before=abc", "before=0", "before=-1" })
        {
            using var response = await http.GetAsync($"/room/h6/messages?{bad}", CancellationToken);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(CancellationToken);
            Assert.Contains(bad.Split('=')[0], problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using var missing = await http.GetAsync("/room/never-was/messages", CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Paging_is_rate_limited_per_client_address()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:HistoryRequestsPerSecond"] = "1" });
        using var http = api.CreateHttpClient();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var response = await http.GetAsync("/room/general/messages", CancellationToken);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
    }

    [Fact]
    public async Task History_and_resume_survive_a_restart_and_rooms_with_history_outlive_their_members()
    {
        var folder = Directory.CreateTempSubdirectory("chat-restart-").FullName;
        var settings = new Dictionary<string, string?> { ["Chat:History:Path"] = Path.Combine(folder, "chat.db") };
        try
        {
            long[] sent;
            JsonElement bobWelcome;
            await using (var api = new ChatApiFactory(new(settings)))
            {
                await using var alice = await JoinAsync(api, "alice", "h7");
                await using var bob = await api.ConnectAsync("bob", "h7");
                bobWelcome = await bob.NextEventAsync("user_joined");
                sent = await SendAsync(alice, "kept 1", "kept 2", "kept 3");
                await NextMessagesAsync(bob, 1);
            }

            await using var restarted = new ChatApiFactory(new(settings));
            using var http = restarted.CreateHttpClient();
            var room = await http.GetFromJsonAsync<JsonElement>("/room/h7/stats", CancellationToken);
            Assert.Equal(0, room.GetProperty("user_count").GetInt32());
            Assert.Equal(3, room.GetProperty("message_count").GetInt64());
            var stats = await http.GetFromJsonAsync<JsonElement>("/stats", CancellationToken);
            Assert.Contains(stats.GetProperty("rooms").EnumerateArray(), r => r.GetProperty("room_id").GetString() == "h7");

            // Bob saw the first message before the restart; he resumes after it, in the same epoch.
            await using var back = await restarted.ConnectAsync("bob", "h7", query: ResumeQuery(sent[0], bobWelcome));
            Assert.True((await back.NextEventAsync("user_joined")).GetProperty("recovered").GetBoolean());
            Assert.Equal(sent[1..], (await NextMessagesAsync(back, 2)).Select(Id));

            // Ids go on from where they were: never reused.
            await back.SendMessageAsync("after the restart");
            Assert.Equal(sent[^1] + 1, Id(await back.NextEventAsync("chat_message")));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<TestChatClient> JoinAsync(ChatApiFactory api, string name, string room)
    {
        var client = await api.ConnectAsync(name, room);
        await client.NextEventAsync("user_joined");
        return client;
    }

    /// <summary>Sends the messages and waits for each to come back, returning their ids.</summary>
    private static async Task<long[]> SendAsync(TestChatClient client, params string[] texts)
    {
        var ids = new List<long>();
        foreach (var text in texts)
        {
            await client.SendMessageAsync(text);
            var echo = await client.NextEventAsync("chat_message");
            Assert.Equal(text, echo.GetProperty("message").GetString());
            ids.Add(Id(echo));
        }

        return [.. ids];
    }

    private static async Task<List<JsonElement>> NextMessagesAsync(TestChatClient client, int count)
    {
        var messages = new List<JsonElement>();
        while (messages.Count < count)
        {
            messages.Add(await client.NextEventAsync("chat_message"));
        }

        return messages;
    }

    private static async Task<string> EpochAsync(ChatApiFactory api, string room)
    {
        await using var probe = await api.ConnectAsync("epoch-probe", room);
        return (await probe.NextEventAsync("user_joined")).GetProperty("epoch").GetString()!;
    }

    private static string ResumeQuery(long since, JsonElement welcome) =>
        $"since={since}&epoch={Uri.EscapeDataString(welcome.GetProperty("epoch").GetString()!)}";

    private static long Id(JsonElement message) => message.GetProperty("id").GetInt64();
}
