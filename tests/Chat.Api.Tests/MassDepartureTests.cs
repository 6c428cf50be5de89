using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;

namespace Chat.Api.Tests;

public sealed class MassDepartureTests
{
    [Fact]
    public async Task When_most_of_a_room_closes_at_once_everyone_who_stays_stays_connected_and_sees_each_departure_once()
    {
        const int clients = 300;
        const int leaving = 270;
        await using var api = new ChatApiFactory(new() { ["Chat:MaxConnectionsPerAddress"] = "1000" });
        var names = Enumerable.Range(0, clients).Select(i => $"u{i}").ToArray();
        var connected = new TestChatClient[clients];
        using (var gate = new SemaphoreSlim(16))
        {
            await Task.WhenAll(names.Select(async (name, i) =>
            {
                await gate.WaitAsync(TestContext.Current.CancellationToken);
                try
                {
                    connected[i] = await api.ConnectAsync(name);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        try
        {
            // Every tenth client stays; the others only listen to the join storm from their kernel buffers.
            var stays = Enumerable.Range(0, clients).Where(i => i % 10 == 0).Select(i => new Member(connected[i])).ToArray();
            var leaves = Enumerable.Range(0, clients).Where(i => i % 10 != 0).Select(i => connected[i]).ToArray();
            Assert.Equal(leaving, leaves.Length);
            await Task.WhenAll(stays.Select(m => m.ReadUntilAsync(present => present.Count == clients)));

            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(leaves.Select(c => c.CloseAsync()));
            using var http = api.CreateHttpClient();
            var stats = await WaitForStatsAsync(http, s => s.GetProperty("total_users").GetInt32() == clients - leaving);
            var statsRightAfter = Stopwatch.GetElapsedTime(started);
            await Task.WhenAll(stays.Select(m => m.ReadUntilAsync(present => present.Count == clients - leaving)));

            string[] remaining = [.. Enumerable.Range(0, clients).Where(i => i % 10 == 0).Select(i => names[i]).Order()];
            Assert.All(stays, m =>
            {
                Assert.Equal(WebSocketState.Open, m.Client.State);
                Assert.Equal(remaining, m.Present.Order());
                Assert.Equal(leaving, m.Departures);
            });
            Assert.Equal(clients - leaving, stats.GetProperty("rooms")[0].GetProperty("user_count").GetInt32());
            Assert.True(statsRightAfter < TimeSpan.FromSeconds(5), $"/stats was right only after {statsRightAfter}.");
        }
        finally
        {
            foreach (var client in connected)
            {
                await (client?.DisposeAsync() ?? ValueTask.CompletedTask);
            }
        }
    }

    private static async Task<JsonElement> WaitForStatsAsync(HttpClient http, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var stats = await http.GetFromJsonAsync<JsonElement>(new Uri("/stats", UriKind.Relative), TestContext.Current.CancellationToken);
            if (condition(stats))
            {
                return stats;
            }

            Assert.True(DateTime.UtcNow < deadline, $"/stats never got there; last: {stats}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>A member who stays, keeping who is present the way a client does: its welcome, then joins and departures.</summary>
    private sealed class Member(TestChatClient client)
    {
        public TestChatClient Client { get; } = client;

        public HashSet<string> Present { get; } = [];

        public int Departures { get; private set; }

        public async Task ReadUntilAsync(Func<HashSet<string>, bool> done)
        {
            while (Present.Count == 0 || !done(Present))
            {
                var next = await Client.NextEventAsync();
                var name = next.GetProperty("user_name").GetString()!;
                switch (next.GetProperty("type").GetString())
                {
                    case "user_joined" when next.TryGetProperty("users", out var users):
                        Present.UnionWith(users.EnumerateArray().Select(u => u.GetString()!));
                        break;
                    case "user_joined":
                        Assert.True(Present.Add(name), $"{name} joined twice.");
                        break;
                    case "user_left":
                        Assert.True(Present.Remove(name), $"{name} left without being present.");
                        Departures++;
                        break;
                }
            }
        }
    }
}
