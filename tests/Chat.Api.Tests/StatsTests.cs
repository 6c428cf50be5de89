using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Chat.Api.Tests;

public sealed class StatsTests : IAsyncLifetime
{
    private readonly ChatApiFactory api = new();
    private HttpClient http = null!;

    public ValueTask InitializeAsync()
    {
        http = api.CreateHttpClient();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await api.DisposeAsync();
    }

    [Fact]
    public async Task Stats_count_users_rooms_and_messages_and_go_back_to_zero()
    {
        await using (var alice = await api.ConnectAsync("alice"))
        await using (var bob = await api.ConnectAsync("bob", room: "games"))
        {
            await alice.NextEventAsync();
            await bob.NextEventAsync();
            await alice.SendMessageAsync("one");
            await alice.NextEventAsync("chat_message");

            var stats = await GetJsonAsync("/stats");
            Assert.Equal(2, stats.GetProperty("total_users").GetInt32());
            Assert.Equal(2, stats.GetProperty("total_rooms").GetInt32());
            Assert.Equal(1, stats.GetProperty("total_messages").GetInt64());
            var general = stats.GetProperty("rooms").EnumerateArray().Single(r => r.GetProperty("room_id").GetString() == "general");
            Assert.Equal(1, general.GetProperty("user_count").GetInt32());

            var room = await GetJsonAsync("/room/general/stats");
            Assert.Equal("general", room.GetProperty("room_id").GetString());
            Assert.Equal(1, room.GetProperty("user_count").GetInt32());
            Assert.Equal(1, room.GetProperty("message_count").GetInt64());
            Assert.False(room.TryGetProperty("users", out _), "Statistics expose counts, not names.");

            await alice.CloseAsync();
            await bob.CloseAsync();
        }

        var after = await WaitForAsync(s => s.GetProperty("total_users").GetInt32() == 0);
        Assert.Equal(1, after.GetProperty("total_rooms").GetInt32());
        using var gone = await http.GetAsync(new Uri("/room/games/stats", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task The_default_room_has_statistics_before_anyone_joins()
    {
        var room = await GetJsonAsync("/room/general/stats");
        Assert.Equal(0, room.GetProperty("user_count").GetInt32());
        Assert.Equal(1, (await GetJsonAsync("/stats")).GetProperty("total_rooms").GetInt32());
    }

    [Fact]
    public async Task An_unknown_room_is_a_404_problem()
    {
        using var response = await http.GetAsync(new Uri("/room/nowhere/stats", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.Contains("nowhere", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_reports_status_and_system_statistics()
    {
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync();

        var health = await GetJsonAsync("/health");
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal(1, health.GetProperty("active_connections").GetInt32());
        Assert.Equal(1, health.GetProperty("active_rooms").GetInt32());
        Assert.True(health.GetProperty("uptime_seconds").GetDouble() >= 0);
        Assert.True(health.GetProperty("memory_working_set_bytes").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Number, health.GetProperty("timestamp").ValueKind);
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    private async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var stats = await GetJsonAsync("/stats");
            if (condition(stats) || DateTime.UtcNow > deadline)
            {
                return stats;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
