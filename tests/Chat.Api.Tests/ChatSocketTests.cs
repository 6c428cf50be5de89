using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat.Api.Tests;

public sealed class ChatSocketTests : IAsyncLifetime
{
    // Throughput tests here send faster than a person types; rate limiting has its own tests.
    private readonly ChatApiFactory api = new(new() { ["Chat:MessagesPerSecond"] = "100000", ["Chat:MessageBurst"] = "100000" });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await api.DisposeAsync();

    [Fact]
    public async Task Join_announces_the_newcomer_to_everyone_the_newcomer_included()
    {
        await using var alice = await api.ConnectAsync("alice");
        var own = await alice.NextEventAsync();
        Assert.Equal("user_joined", own.GetProperty("type").GetString());
        Assert.Equal("alice", own.GetProperty("user_name").GetString());
        Assert.Equal("alice joined the chat", own.GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Number, own.GetProperty("timestamp").ValueKind);
        Assert.Equal(["alice"], own.GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal("general", own.GetProperty("room_id").GetString());

        await using var bob = await api.ConnectAsync("bob");
        var bobsOwn = await bob.NextEventAsync();
        Assert.Equal(["alice", "bob"], bobsOwn.GetProperty("users").EnumerateArray().Select(u => u.GetString()));

        var seenByAlice = await alice.NextEventAsync();
        Assert.Equal("user_joined", seenByAlice.GetProperty("type").GetString());
        Assert.Equal("bob", seenByAlice.GetProperty("user_name").GetString());
        Assert.False(seenByAlice.TryGetProperty("users", out _), "Only the newcomer's own notice carries the list.");
    }

    [Fact]
    public async Task Messages_reach_everyone_in_the_room_the_sender_included()
    {
        var (alice, bob) = await JoinTwoAsync();
        await using (alice)
        await using (bob)
        {
            await alice.SendMessageAsync("hello from json");
            await bob.SendTextAsync("hello in plain text");

            foreach (var client in new[] { alice, bob })
            {
                var first = await client.NextEventAsync("chat_message");
                var second = await client.NextEventAsync("chat_message");
                var messages = new[] { first, second }.Select(e => (e.GetProperty("user_name").GetString(), e.GetProperty("message").GetString()));
                Assert.Contains(("alice", "hello from json"), messages);
                Assert.Contains(("bob", "hello in plain text"), messages);
            }
        }
    }

    [Fact]
    public async Task Timestamp_is_unix_seconds_with_milliseconds()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        await using var alice = await api.ConnectAsync("alice");
        var joined = await alice.NextEventAsync();
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

        var raw = joined.GetProperty("timestamp").GetRawText();
        Assert.Matches(@"^\d{10}\.\d{3}$", raw);
        Assert.InRange(joined.GetProperty("timestamp").GetDouble(), before - 0.001, after + 0.001);
    }

    [Fact]
    public async Task Closing_announces_the_departure_to_those_who_stay()
    {
        var (alice, bob) = await JoinTwoAsync();
        await using (alice)
        await using (bob)
        {
            await bob.CloseAsync();
            var left = await alice.NextEventAsync("user_left");
            Assert.Equal("bob", left.GetProperty("user_name").GetString());
            Assert.Equal("bob left the chat", left.GetProperty("message").GetString());
            Assert.Equal(WebSocketCloseStatus.NormalClosure, bob.CloseStatus);
        }
    }

    [Fact]
    public async Task An_abrupt_drop_is_announced_as_a_departure()
    {
        var (alice, bob) = await JoinTwoAsync();
        await using (alice)
        await using (bob)
        {
            bob.Abort();
            var left = await alice.NextEventAsync("user_left");
            Assert.Equal("bob", left.GetProperty("user_name").GetString());
        }
    }

    [Theory]
    [InlineData("abcdefghijklmnopqrstu", "at most 20")]
    [InlineData("   ", "empty")]
    [InlineData("bad\u0007name", "control")]
    public async Task An_invalid_name_is_refused_with_1008_and_a_reason_and_nobody_sees_a_join(string name, string reason)
    {
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();

        await using var refused = await api.ConnectAsync(name);
        var (status, description) = await refused.WaitForCloseAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains(reason, description, StringComparison.OrdinalIgnoreCase);

        await alice.SendMessageAsync("still here");
        var next = await alice.NextEventAsync();
        Assert.Equal("chat_message", next.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Twenty_characters_are_allowed_and_counted_as_a_person_sees_them()
    {
        await using var ascii = await api.ConnectAsync(new string('a', 20));
        Assert.Equal("user_joined", (await ascii.NextEventAsync()).GetProperty("type").GetString());

        var twentyEmoji = string.Concat(Enumerable.Repeat("👩‍👩‍👧", 20));
        await using var emoji = await api.ConnectAsync(twentyEmoji);
        Assert.Equal(twentyEmoji, (await emoji.NextEventAsync()).GetProperty("user_name").GetString());
    }

    [Theory]
    [InlineData("<b>bob</b>")]
    [InlineData("50% off")]
    [InlineData("a/b?c#d")]
    public async Task A_name_with_url_significant_characters_arrives_as_typed(string name)
    {
        await using var client = await api.ConnectAsync(name);
        Assert.Equal(name, (await client.NextEventAsync()).GetProperty("user_name").GetString());
    }

    [Fact]
    public async Task A_name_already_in_the_room_is_refused_and_its_owner_keeps_it()
    {
        await using var first = await api.ConnectAsync("Alice");
        await first.NextEventAsync();

        await using var second = await api.ConnectAsync("alice");
        var (status, reason) = await second.WaitForCloseAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains("already taken", reason, StringComparison.Ordinal);

        await first.SendMessageAsync("mine");
        Assert.Equal("mine", (await first.NextEventAsync("chat_message")).GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("{\"message\": 123}", "must be a single string")]
    [InlineData("{\"message\": \"hi\", \"extra\": 1}", "Unknown field")]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("[1,2]", "Expected a JSON object")]
    [InlineData("{\"message\": \"   \"}", "must not be empty")]
    [InlineData("{}", "is required")]
    public async Task Bad_input_gets_an_error_to_the_sender_only_and_the_connection_stays(string frame, string error)
    {
        var (alice, bob) = await JoinTwoAsync();
        await using (alice)
        await using (bob)
        {
            await alice.SendTextAsync(frame);
            var reply = await alice.NextEventAsync();
            Assert.Equal("error", reply.GetProperty("type").GetString());
            Assert.Contains(error, reply.GetProperty("message").GetString(), StringComparison.Ordinal);

            await alice.SendMessageAsync("after the error");
            Assert.Equal("after the error", (await alice.NextEventAsync()).GetProperty("message").GetString());
            var atBob = await bob.NextEventAsync();
            Assert.Equal("after the error", atBob.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task A_message_over_the_limit_is_refused_and_one_at_the_limit_is_delivered()
    {
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();

        await alice.SendMessageAsync(new string('x', 1001));
        var error = await alice.NextEventAsync();
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Contains("at most 1000", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        var atLimit = string.Concat(Enumerable.Repeat("é", 1000));
        await alice.SendMessageAsync(atLimit);
        Assert.Equal(atLimit, (await alice.NextEventAsync()).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Fragmented_and_empty_messages_are_read_whole_after_an_idle_wait()
    {
        var (alice, bob) = await JoinTwoAsync();
        await using (alice)
        await using (bob)
        {
            // The server waits between messages without a buffer, then reads the next one whole, however split.
            await alice.SendTextAsync("");
            Assert.Contains("must not be empty", (await alice.NextEventAsync("error")).GetProperty("message").GetString(), StringComparison.Ordinal);

            var text = new string('a', 700) + string.Concat(Enumerable.Repeat("é", 250));
            var payload = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { message = text }));
            await alice.SendAsync([], WebSocketMessageType.Text, endOfMessage: false);
            await alice.SendAsync(payload[..1], WebSocketMessageType.Text, endOfMessage: false);
            await alice.SendAsync(payload[1..1500], WebSocketMessageType.Text, endOfMessage: false);
            await alice.SendAsync(payload[1500..], WebSocketMessageType.Text, endOfMessage: true);

            Assert.Equal(text, (await bob.NextEventAsync("chat_message")).GetProperty("message").GetString());
            await alice.SendMessageAsync("short");
            Assert.Equal("short", (await bob.NextEventAsync("chat_message")).GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task One_senders_messages_arrive_in_the_order_sent()
    {
        var (alice, bob) = await JoinTwoAsync();
        await using (alice)
        await using (bob)
        {
            const int count = 200;
            for (var i = 0; i < count; i++)
            {
                await alice.SendMessageAsync($"m{i}");
            }

            for (var i = 0; i < count; i++)
            {
                Assert.Equal($"m{i}", (await bob.NextEventAsync("chat_message")).GetProperty("message").GetString());
            }
        }
    }

    [Fact]
    public async Task A_binary_frame_closes_with_1003()
    {
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();
        await alice.SendAsync([1, 2, 3], WebSocketMessageType.Binary);
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, (await alice.WaitForCloseAsync()).Status);
    }

    [Fact]
    public async Task A_message_larger_than_the_frame_limit_closes_with_1009_and_others_carry_on()
    {
        var (alice, bob) = await JoinTwoAsync();
        await using (alice)
        await using (bob)
        {
            var chunk = Encoding.UTF8.GetBytes(new string('a', 16 * 1024));
            for (var i = 0; i < 9; i++)
            {
                await alice.SendAsync(chunk, WebSocketMessageType.Text, endOfMessage: false);
            }

            var (status, reason) = await alice.WaitForCloseAsync();
            Assert.Equal(WebSocketCloseStatus.MessageTooBig, status);
            Assert.Contains("131072", reason, StringComparison.Ordinal);
            Assert.Equal("alice", (await bob.NextEventAsync("user_left")).GetProperty("user_name").GetString());
        }
    }

    [Fact]
    public async Task Rooms_are_separate()
    {
        await using var general = await api.ConnectAsync("alice");
        await general.NextEventAsync();
        await using var other = await api.ConnectAsync("alice", room: "random");
        var joined = await other.NextEventAsync();
        Assert.Equal("random", joined.GetProperty("room_id").GetString());

        await other.SendMessageAsync("only for random");
        Assert.Equal("only for random", (await other.NextEventAsync()).GetProperty("message").GetString());
        await general.SendMessageAsync("only for general");
        var next = await general.NextEventAsync();
        Assert.Equal("only for general", next.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_plain_http_request_to_the_socket_gets_426()
    {
        using var http = api.CreateHttpClient();
        using var response = await http.GetAsync(new Uri("/ws/alice", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.UpgradeRequired, response.StatusCode);
    }

    private async Task<(TestChatClient Alice, TestChatClient Bob)> JoinTwoAsync()
    {
        var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();
        var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync();
        Assert.Equal("bob", (await alice.NextEventAsync("user_joined")).GetProperty("user_name").GetString());
        return (alice, bob);
    }
}
