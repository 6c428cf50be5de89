using System.Net.Http.Json;
using System.Text.Json;

namespace Chat.Api.Tests;

/// <summary>
/// Chat.Api killed with SIGKILL in the middle of a conversation: every message anyone saw is still in history when it
/// comes back, a client resumes after the last one it saw, and no id anyone saw is given again.
/// </summary>
public sealed class CrashTests : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("chat-crash-").FullName;

    private string HistoryPath => Path.Combine(folder, "chat.db");

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Directory.Delete(folder, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Nothing_anyone_saw_is_lost_when_the_process_is_killed_mid_conversation()
    {
        var seen = new List<(long Id, string Text)>();
        string epoch;
        await using (var api = await ApiProcess.StartAsync(HistoryPath))
        {
            var alice = await TestChatClient.ConnectAsync(api.WebSocketAddress, "alice", "crash");
            await alice.NextEventAsync("user_joined");
            var bob = await TestChatClient.ConnectAsync(api.WebSocketAddress, "bob", "crash");
            epoch = (await bob.NextEventAsync("user_joined")).GetProperty("epoch").GetString()!;

            // Alice sends without waiting; the kill comes while messages are still in flight.
            var sending = Task.Run(async () =>
            {
                try
                {
                    for (var i = 0; i < 2_000; i++)
                    {
                        await alice.SendMessageAsync($"m{i}");
                    }
                }
                catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException or ObjectDisposedException)
                {
                    // The server died under the sender: expected.
                }
            }, TestContext.Current.CancellationToken);

            while (seen.Count < 200)
            {
                var message = await bob.NextEventAsync("chat_message");
                seen.Add((message.GetProperty("id").GetInt64(), message.GetProperty("message").GetString()!));
            }

            await api.KillAsync();
            await sending;

            // Whatever bob had already received before the socket broke counts as seen too.
            try
            {
                while (true)
                {
                    var message = await bob.NextEventAsync("chat_message", TimeSpan.FromSeconds(2));
                    seen.Add((message.GetProperty("id").GetInt64(), message.GetProperty("message").GetString()!));
                }
            }
            catch (Exception e) when (e is InvalidOperationException or System.Net.WebSockets.WebSocketException or OperationCanceledException or TimeoutException)
            {
                // The socket is gone.
            }

            alice.Abort();
            bob.Abort();
        }

        await using var restarted = await ApiProcess.StartAsync(HistoryPath);
        using var http = new HttpClient { BaseAddress = restarted.HttpAddress, Timeout = TimeSpan.FromSeconds(10) };
        var stored = new Dictionary<long, string>();
        long? before = null;
        do
        {
            var page = await http.GetFromJsonAsync<JsonElement>(
                "/room/crash/messages?limit=100" + (before is { } b ? $"&before={b}" : ""), TestContext.Current.CancellationToken);
            var messages = page.GetProperty("messages").EnumerateArray().ToList();
            foreach (var m in messages)
            {
                stored[m.GetProperty("id").GetInt64()] = m.GetProperty("message").GetString()!;
            }

            before = page.GetProperty("has_more").GetBoolean() ? messages[0].GetProperty("id").GetInt64() : null;
        }
        while (before is not null);

        Assert.True(seen.Count >= 200);
        Assert.All(seen, s => Assert.Equal(s.Text, stored.GetValueOrDefault(s.Id)));

        // Bob resumes after the last message he saw, in the same epoch: recovered, and what follows is all stored.
        var lastSeen = seen.Max(s => s.Id);
        await using var back = await TestChatClient.ConnectAsync(
            restarted.WebSocketAddress, "bob", "crash", query: $"since={lastSeen}&epoch={Uri.EscapeDataString(epoch)}");
        Assert.True((await back.NextEventAsync("user_joined")).GetProperty("recovered").GetBoolean());

        // Ids are never given twice: the next message gets an id above everything stored.
        await back.SendMessageAsync("after the crash");
        var next = await back.NextEventAsync("chat_message");
        while (next.GetProperty("message").GetString() != "after the crash")
        {
            next = await back.NextEventAsync("chat_message");
        }

        Assert.True(next.GetProperty("id").GetInt64() > stored.Keys.Max());
    }
}
