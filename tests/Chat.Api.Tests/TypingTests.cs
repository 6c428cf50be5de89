using System.Text.Json;

namespace Chat.Api.Tests;

/// <summary>
/// Typing over real sockets: relayed without text to the others who asked for it (<c>?features=typing</c>), never to a
/// client written for the original, never back to the typist, and read under the sender's message rate.
/// </summary>
public sealed class TypingTests
{
    [Fact]
    public async Task Typing_reaches_the_others_who_opted_in_and_neither_an_original_client_nor_the_typist()
    {
        await using var api = new ChatApiFactory();
        await using var alice = await JoinAsync(api, "alice", "typing-room", "features=typing");
        await using var bob = await JoinAsync(api, "bob", "typing-room", "features=typing");
        await using var carol = await JoinAsync(api, "carol", "typing-room");
        await alice.NextEventAsync("user_joined");
        await alice.NextEventAsync("user_joined");
        await bob.NextEventAsync("user_joined");

        await alice.SendTextAsync("""{"type":"typing"}""");
        await alice.SendMessageAsync("done typing");

        var typing = await bob.NextEventAsync();
        Assert.Equal("typing", typing.GetProperty("type").GetString());
        Assert.Equal("alice", typing.GetProperty("user_name").GetString());
        Assert.Equal(JsonValueKind.Number, typing.GetProperty("timestamp").ValueKind);
        Assert.False(typing.TryGetProperty("message", out _), "typing carries no text");
        Assert.False(typing.TryGetProperty("id", out _), "typing is not a chat message");
        Assert.Equal("done typing", (await bob.NextEventAsync()).GetProperty("message").GetString());

        // The next frame after the join noise is the message itself: no typing frame came before it.
        foreach (var other in new[] { alice, carol })
        {
            var next = await other.NextEventAsync();
            Assert.Equal("chat_message", next.GetProperty("type").GetString());
            Assert.Equal("done typing", next.GetProperty("message").GetString());
        }

        // Typing is not history: a newcomer is sent the message, nothing about typing.
        await using var dave = await api.ConnectAsync("dave", "typing-room", query: "features=typing");
        Assert.Equal("user_joined", (await dave.NextEventAsync()).GetProperty("type").GetString());
        var history = await dave.NextEventAsync();
        Assert.True(history.GetProperty("history").GetBoolean());
        Assert.Equal("done typing", history.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Typing_counts_against_the_senders_rate()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:MessagesPerSecond"] = "1", ["Chat:MessageBurst"] = "2" });
        await using var alice = await JoinAsync(api, "alice", "typing-rate", "features=typing");
        await using var bob = await JoinAsync(api, "bob", "typing-rate", "features=typing");
        await alice.NextEventAsync("user_joined");

        for (var i = 0; i < 3; i++)
        {
            await alice.SendTextAsync("""{"type":"typing"}""");
        }

        // Typing sends the typist nothing, so the first frame it gets is the pacing notice its third one caused.
        var notice = await alice.NextEventAsync();
        Assert.Equal("error", notice.GetProperty("type").GetString());
        Assert.Equal("paced", notice.GetProperty("code").GetString());
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("typing", (await bob.NextEventAsync()).GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task Typing_that_carries_text_is_refused_and_nothing_is_relayed()
    {
        await using var api = new ChatApiFactory();
        await using var alice = await JoinAsync(api, "alice", "typing-text", "features=typing");
        await using var bob = await JoinAsync(api, "bob", "typing-text", "features=typing");
        await alice.NextEventAsync("user_joined");

        await alice.SendTextAsync("""{"type":"typing","message":"secret"}""");
        var error = await alice.NextEventAsync();
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal("\"typing\" carries no \"message\".", error.GetProperty("message").GetString());

        await alice.SendMessageAsync("after");
        var next = await bob.NextEventAsync();
        Assert.Equal("chat_message", next.GetProperty("type").GetString());
        Assert.Equal("after", next.GetProperty("message").GetString());
    }

    /// <summary>Connects and reads the client's own welcome and the room's (empty) history.</summary>
    private static async Task<TestChatClient> JoinAsync(ChatApiFactory api, string name, string room, string? query = null)
    {
        var client = await api.ConnectAsync(name, room, query: query);
        var own = await client.NextEventAsync();
        Assert.Equal("user_joined", own.GetProperty("type").GetString());
        return client;
    }
}
