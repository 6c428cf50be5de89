using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Api.Tests;

public sealed class TelemetryTests
{
    [Fact]
    public async Task Real_traffic_is_counted_and_each_command_gets_a_span_without_the_text()
    {
        await using var api = new ChatApiFactory();
        var meters = api.Services.GetRequiredService<IMeterFactory>();
        var totals = new ConcurrentDictionary<string, double>();
        using var meterListener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Meter.Name == "Chat")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            totals.AddOrUpdate(Key(instrument.Name, tags), value, (_, sum) => sum + value));
        meterListener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
            totals.AddOrUpdate(Key(instrument.Name, tags), 1, (_, sum) => sum + 1));
        meterListener.Start();

        // Spans are process-wide; this test's room keeps its own apart from parallel tests.
        var spans = new ConcurrentQueue<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Chat",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("chat.room") as string == "telemetry")
                {
                    spans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(activityListener);

        await using var alice = await api.ConnectAsync("alice", room: "telemetry");
        await alice.NextEventAsync();
        await using (var bob = await api.ConnectAsync("bob", room: "telemetry"))
        {
            await alice.NextEventAsync("user_joined");
            for (var i = 0; i < 3; i++)
            {
                await alice.SendMessageAsync($"secret {i}");
                await bob.NextEventAsync("chat_message");
            }

            await alice.SendMessageAsync("");
            Assert.Equal("error", (await alice.NextEventAsync("error")).GetProperty("type").GetString());
            await bob.CloseAsync();
            await alice.NextEventAsync("user_left");
        }

        await alice.CloseAsync();

        await WaitUntilAsync(() => totals.GetValueOrDefault("chat.connections") == 0 && spans.Count(s => s.OperationName == "chat.leave") == 2);

        Assert.Equal(4, totals["chat.messages.received"]);
        Assert.Equal(1, totals["chat.messages.rejected|reason=Invalid"]);
        // Joins: 1 + 2 recipients; messages: 3 × 2; bob's departure: 1.
        Assert.Equal(3 + 6 + 1, totals["chat.messages.delivered"]);
        Assert.True(totals["chat.fanout.duration"] >= 6);
        Assert.Equal(0, totals["chat.connections"]);

        Assert.Equal(2, spans.Count(s => s.OperationName == "chat.join" && (string?)s.GetTagItem("chat.outcome") == "Ok"));
        Assert.Equal(3, spans.Count(s => s.OperationName == "chat.send" && (string?)s.GetTagItem("chat.outcome") == "Ok"));
        Assert.Equal(1, spans.Count(s => s.OperationName == "chat.send" && (string?)s.GetTagItem("chat.outcome") == "Invalid"));
        Assert.DoesNotContain(spans.SelectMany(s => s.TagObjects), tag => tag.Value is string text && text.Contains("secret", StringComparison.Ordinal));
    }

    private static string Key(string name, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = name;
        foreach (var (tag, value) in tags)
        {
            key += $"|{tag}={value}";
        }

        return key;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
