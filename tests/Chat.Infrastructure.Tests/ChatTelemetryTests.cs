using Chat.Application.Abstractions;
using System.Diagnostics.Metrics;
using Chat.Domain.Messages;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Realtime;

namespace Chat.Infrastructure.Tests;

public sealed class ChatTelemetryTests
{
    private static readonly RoomWelcome NoHistory = new("epoch", "token", []);

    [Fact]
    public async Task A_fan_out_counts_one_delivery_per_recipient_and_records_its_duration()
    {
        using var meters = new TestMeterFactory();
        var broadcaster = new ChatBroadcaster(TestTelemetry.Create(meters));
        var measurements = new Dictionary<string, double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Add(instrument, value));
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Add(instrument, 1));
        listener.Start();

        var now = DateTimeOffset.UnixEpoch;
        var room = new ChatRoom(RoomId.Create("general"), now);
        var users = Enumerable.Range(1, 3).Select(i => new User(new ConnectionId(i), UserName.Create($"u{i}"), now)).ToArray();
        foreach (var user in users)
        {
            broadcaster.Attach(new ClientOutbox(user.Connection, 16));
            room.Join(user, out var joined, now);
            await broadcaster.PublishAsync(room, joined!, TestContext.Current.CancellationToken);
            await broadcaster.WelcomeAsync(joined!, NoHistory, TestContext.Current.CancellationToken);
        }

        await broadcaster.PublishAsync(room, room.Post(users[0], MessageText.Create("hi"), now)!, TestContext.Current.CancellationToken);

        // Joins reach the 0, 1 and 2 members already there, welcomes their newcomer; the message reaches all 3.
        Assert.Equal(0 + 1 + 2 + 3 + 3, measurements["chat.messages.delivered"]);
        Assert.Equal(3 + 3 + 1, measurements["chat.fanout.duration"]);

        void Add(Instrument instrument, double value)
        {
            lock (measurements)
            {
                measurements[instrument.Name] = measurements.GetValueOrDefault(instrument.Name) + value;
            }
        }
    }
}
