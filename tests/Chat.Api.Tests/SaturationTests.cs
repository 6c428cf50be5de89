using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Api.Tests;

/// <summary>Senders the server does not read for now, held back or paced, show in /health and in the metrics.</summary>
public sealed class SaturationTests
{
    [Fact]
    public async Task Senders_held_back_because_the_server_is_behind_make_health_degraded_with_a_reason()
    {
        await using var api = new ChatApiFactory(new()
        {
            ["Chat:OutboundQueueCapacity"] = "16",
            ["Chat:OutboundQueueBurstCapacity"] = "100000",
            ["Chat:SlowClientGrace"] = "00:01:00",
            ["Chat:MessagesPerSecond"] = "1000000",
            ["Chat:MessageBurst"] = "1000000",
        });
        using var waiting = new SendersWaiting(api);
        using var http = api.CreateHttpClient();
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync("user_joined");
        await using var bob = await api.ConnectAsync("bob");
        await bob.NextEventAsync("user_joined");
        await alice.NextEventAsync("user_joined");
        Assert.Equal("healthy", (await HealthAsync(http)).GetProperty("status").GetString());

        // Alice sends far more than the socket buffers hold of her own echoes and does not read them: her queue grows
        // past the mark and the server stops reading her.
        const int count = 10_000;
        var text = string.Concat(Enumerable.Repeat("€", 1000));
        var bobReads = DrainAsync(bob, count);
        var aliceSends = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await alice.SendMessageAsync(text);
            }
        }, TestContext.Current.CancellationToken);

        var behind = await WaitForHealthAsync(http, h => h.GetProperty("senders_held_back").GetInt32() > 0);
        Assert.Equal("degraded", behind.GetProperty("status").GetString());
        Assert.Contains("held back", behind.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("degraded", behind.GetProperty("checks").GetProperty("chat").GetString());
        await WaitUntilAsync(() => waiting.Now("backpressure") > 0, "chat.senders.waiting never counted a sender held back.");

        // Once she reads again everything flows, and nobody is held back any more.
        await DrainAsync(alice, count);
        await Task.WhenAll(aliceSends, bobReads).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        var recovered = await WaitForHealthAsync(http, h => h.GetProperty("senders_held_back").GetInt32() == 0);
        Assert.Equal(0, recovered.GetProperty("senders_held_back").GetInt32());
        Assert.Equal(0, waiting.Now("backpressure"));
        Assert.True(waiting.Deferred("backpressure") > 0);
    }

    [Fact]
    public async Task Paced_senders_are_counted_apart_and_leave_health_healthy()
    {
        await using var api = new ChatApiFactory(new() { ["Chat:MessagesPerSecond"] = "20", ["Chat:MessageBurst"] = "5" });
        using var waiting = new SendersWaiting(api);
        using var http = api.CreateHttpClient();
        await using var alice = await api.ConnectAsync("alice");
        await alice.NextEventAsync("user_joined");

        const int count = 100;
        for (var i = 0; i < count; i++)
        {
            await alice.SendMessageAsync($"m{i}");
        }

        var paced = await WaitForHealthAsync(http, h => h.GetProperty("senders_paced").GetInt32() == 1);
        Assert.Equal(1, paced.GetProperty("senders_paced").GetInt32());
        Assert.Equal("healthy", paced.GetProperty("status").GetString());
        Assert.False(paced.TryGetProperty("reason", out _));
        Assert.Equal(0, waiting.Now("backpressure"));

        await DrainAsync(alice, count);
        Assert.InRange(waiting.Deferred("paced"), count / 2, count - 5);
        Assert.Equal(0, waiting.Deferred("backpressure"));
    }

    private static Task DrainAsync(TestChatClient client, int messages) => Task.Run(async () =>
    {
        for (var seen = 0; seen < messages;)
        {
            var next = await client.NextEventAsync(TimeSpan.FromSeconds(30));
            Assert.NotEqual("user_left", next.GetProperty("type").GetString());
            seen += next.GetProperty("type").GetString() == "chat_message" ? 1 : 0;
        }
    });

    private static async Task<JsonElement> HealthAsync(HttpClient http) =>
        await http.GetFromJsonAsync<JsonElement>(new Uri("/health", UriKind.Relative), TestContext.Current.CancellationToken);

    private static async Task<JsonElement> WaitForHealthAsync(HttpClient http, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var health = await HealthAsync(http);
            if (condition(health))
            {
                return health;
            }

            Assert.True(DateTime.UtcNow < deadline, $"/health never got there; last: {health}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Reads chat.senders.waiting (now) and chat.messages.deferred (so far), by reason, from the server's meter.</summary>
    private sealed class SendersWaiting : IDisposable
    {
        private readonly MeterListener listener = new();
        private readonly Dictionary<string, long> now = [];
        private readonly Dictionary<string, long> deferred = [];

        public SendersWaiting(ChatApiFactory api)
        {
            var meters = api.Services.GetRequiredService<IMeterFactory>();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name is "chat.senders.waiting" or "chat.messages.deferred")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                var reason = "";
                foreach (var (key, tag) in tags)
                {
                    reason = key == "reason" ? tag as string ?? "" : reason;
                }

                lock (now)
                {
                    if (instrument.Name == "chat.senders.waiting")
                    {
                        now[reason] = value;
                    }
                    else
                    {
                        deferred[reason] = deferred.GetValueOrDefault(reason) + value;
                    }
                }
            });
            listener.Start();
        }

        public long Now(string reason)
        {
            listener.RecordObservableInstruments();
            lock (now)
            {
                return now.GetValueOrDefault(reason);
            }
        }

        public long Deferred(string reason)
        {
            lock (now)
            {
                return deferred.GetValueOrDefault(reason);
            }
        }

        public void Dispose() => listener.Dispose();
    }
}
