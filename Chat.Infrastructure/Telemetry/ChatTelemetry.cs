using System.Diagnostics;
using System.Diagnostics.Metrics;
using Chat.Application.Abstractions;

namespace Chat.Infrastructure.Telemetry;

/// <summary>
/// The chat's own metrics and spans, named "Chat". Tags carry rooms, reasons and outcomes, never names or text.
/// </summary>
public sealed class ChatTelemetry
{
    public const string Name = "Chat";

    private static readonly KeyValuePair<string, object?> BackpressureTag = new("reason", "backpressure");
    private static readonly KeyValuePair<string, object?> PacedTag = new("reason", "paced");

    /// <summary>Spans around each command (join, leave, send); free when nobody listens.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Counter<long> messagesReceived;
    private readonly Counter<long> messagesDelivered;
    private readonly Counter<long> messagesRejected;
    private readonly Counter<long> clientsDropped;
    private readonly UpDownCounter<long> connections;
    private readonly Histogram<double> fanoutDuration;
    private readonly Counter<long> messagesDeferred;
    private long sendersHeldBack;
    private long sendersPaced;
    private long lastHoldBackEnded;

    public ChatTelemetry(IMeterFactory meterFactory, IConnectionRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(registry);
        var meter = meterFactory.Create(Name);
        connections = meter.CreateUpDownCounter<long>("chat.connections", "{connection}", "Open WebSocket connections.");
        meter.CreateObservableGauge("chat.rooms", () => registry.Rooms.Count, "{room}", "Rooms that exist now.");
        messagesReceived = meter.CreateCounter<long>("chat.messages.received", "{message}", "Text frames received from clients.");
        messagesDelivered = meter.CreateCounter<long>("chat.messages.delivered", "{message}", "Events queued for a recipient.");
        messagesRejected = meter.CreateCounter<long>("chat.messages.rejected", "{message}", "Messages refused, by reason.");
        clientsDropped = meter.CreateCounter<long>("chat.clients.dropped", "{client}", "Clients disconnected by the server, by reason.");
        fanoutDuration = meter.CreateHistogram<double>(
            "chat.fanout.duration", "ms", "Time to encode one event and queue it for every member.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50] });
        messagesDeferred = meter.CreateCounter<long>(
            "chat.messages.deferred", "{message}", "Messages read later than they arrived, by reason (backpressure, paced).");
        meter.CreateObservableUpDownCounter<long>(
            "chat.senders.waiting",
            () =>
            [
                new(Volatile.Read(ref sendersHeldBack), BackpressureTag),
                new(Volatile.Read(ref sendersPaced), PacedTag),
            ],
            "{connection}",
            "Senders whose next message is not being read now, by reason (backpressure, paced).");
    }

    /// <summary>Senders not read now because the server is behind: their own queues are long.</summary>
    public int SendersHeldBack => (int)Volatile.Read(ref sendersHeldBack);

    /// <summary>Senders not read now because they are over their message rate.</summary>
    public int SendersPaced => (int)Volatile.Read(ref sendersPaced);

    /// <summary>Zero while a sender is held back; otherwise the time since the last one was released (null: never).</summary>
    public TimeSpan? SinceSendersHeldBack
    {
        get
        {
            if (Volatile.Read(ref sendersHeldBack) > 0)
            {
                return TimeSpan.Zero;
            }

            var last = Volatile.Read(ref lastHoldBackEnded);
            return last == 0 ? null : Stopwatch.GetElapsedTime(last);
        }
    }

    public void ConnectionOpened() => connections.Add(1);

    public void ConnectionClosed() => connections.Add(-1);

    public void MessageReceived() => messagesReceived.Add(1);

    public void MessageRejected(string reason) => messagesRejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void ClientDropped(string reason) => clientsDropped.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A sender's next message waits until its own queue is short again (backpressure).</summary>
    public void HoldBackStarted()
    {
        Interlocked.Increment(ref sendersHeldBack);
        messagesDeferred.Add(1, BackpressureTag);
    }

    public void HoldBackEnded()
    {
        Volatile.Write(ref lastHoldBackEnded, Stopwatch.GetTimestamp());
        Interlocked.Decrement(ref sendersHeldBack);
    }

    /// <summary>A sender's next message waits for its turn under the message rate (pacing).</summary>
    public void PacingStarted()
    {
        Interlocked.Increment(ref sendersPaced);
        messagesDeferred.Add(1, PacedTag);
    }

    public void PacingEnded() => Interlocked.Decrement(ref sendersPaced);

    public void FanoutCompleted(int recipients, long startTimestamp)
    {
        messagesDelivered.Add(recipients);
        fanoutDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds);
    }

    /// <summary>Starts a span for a command; null when no listener samples it.</summary>
    public static Activity? StartCommand(string command, string? room)
    {
        var activity = ActivitySource.StartActivity(command, ActivityKind.Internal);
        activity?.SetTag("chat.room", room);
        return activity;
    }
}
