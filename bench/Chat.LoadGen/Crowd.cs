using System.Diagnostics;

namespace Chat.LoadGen;

/// <summary>The connected clients of one run, and the paced senders among them.</summary>
internal sealed class Crowd : IAsyncDisposable
{
    private readonly Settings settings;
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> loops = [];
    private long[] sent = [];
    private Task? keepAlive;
    private MessageIds? ids;

    public Crowd(Settings settings)
    {
        this.settings = settings;
        RunId = Convert.ToHexString(BitConverter.GetBytes(Environment.TickCount64))[..6].ToLowerInvariant();
    }

    public string RunId { get; }

    public RunWindow Window { get; } = new();

    public List<LoadClient> Clients { get; } = [];

    public int ConnectFailures { get; private set; }

    public string? FirstConnectError { get; private set; }

    /// <summary>Messages sent so far by each sender (their sequence numbers run 0..sent-1).</summary>
    public long TotalSent
    {
        get
        {
            long total = 0;
            for (var i = 0; i < sent.Length; i++)
            {
                total += Volatile.Read(ref sent[i]);
            }

            return total;
        }
    }

    public int SenderCount => sent.Length;

    public long Deliveries => Sum(c => c.Deliveries);

    public long Joins => Sum(c => c.Joins);

    public string NameOf(int index) => $"b{RunId}x{index}";

    /// <summary>Connects <paramref name="count"/> clients, a few at a time, and starts their receive loops.</summary>
    public async Task ConnectAsync(
        int count, int senders, TimeSpan timeout, Func<int, int>? receiveBufferFor = null, int bufferSize = 64 * 1024)
    {
        sent = new long[senders];
        ids = new MessageIds(senders);
        using var deadline = new CancellationTokenSource(timeout);
        using var gate = new SemaphoreSlim(settings.ConnectConcurrency);
        var slots = new LoadClient?[count];
        var tasks = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var index = i;
            try
            {
                await gate.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                ConnectFailures += count - i;
                break;
            }

            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    var name = NameOf(index);
                    var client = await LoadClient.ConnectAsync(
                        settings.EndPointFor(index), settings.PathFor(name, index), name, index, settings.Protocol, Window, ids, senders,
                        receiveBufferFor?.Invoke(index) ?? 0, bufferSize, deadline.Token);
                    slots[index] = client;
                    if (settings.Urls.Count > 1 && settings.Protocol == WireProtocol.Chat)
                    {
                        client.Present = new HashSet<string>(StringComparer.Ordinal);
                    }

                    lock (loops)
                    {
                        loops.Add(client.RunAsync(stop.Token));
                    }
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
                {
                    lock (loops)
                    {
                        ConnectFailures++;
                        FirstConnectError ??= e.Message;
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(tasks);
        foreach (var client in slots)
        {
            if (client is not null)
            {
                Clients.Add(client);
            }
        }

        if (settings.Protocol == WireProtocol.SignalR)
        {
            keepAlive = KeepAliveAsync(stop.Token);
        }
    }

    /// <summary>Waits until the condition holds or the time is up; returns whether it held.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>
    /// Sends from the first <c>senders</c> clients at <paramref name="rate"/> messages a second each, for
    /// <paramref name="duration"/>, on a dedicated thread; <paramref name="onTick"/> runs between ticks.
    /// </summary>
    public void SendFor(double rate, TimeSpan duration, Action<TimeSpan>? onTick = null)
    {
        var senders = sent.Length;
        var baseline = new long[senders];
        Array.Copy(sent, baseline, senders);
        var scratch = new byte[1000 * (160 + LoadClient.Padding)];
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed >= duration)
            {
                break;
            }

            var due = (long)(elapsed.TotalSeconds * rate);
            for (var s = 0; s < senders && s < Clients.Count; s++)
            {
                var length = 0;
                // At most a burst of 1000 per tick, so that a stalled tick cannot build an unbounded frame batch.
                var n = Math.Min(due - (sent[s] - baseline[s]), 1000);
                for (var k = 0; k < n; k++)
                {
                    Clients[s].SendChat(s, sent[s]++, scratch, ref length);
                }

                if (length > 0)
                {
                    Clients[s].Send(scratch.AsSpan(0, length));
                }
            }

            onTick?.Invoke(elapsed);
            Thread.Sleep(1);
        }
    }

    public bool AllDelivered(Func<LoadClient, bool>? include = null)
    {
        var expected = TotalSent;
        foreach (var client in Clients)
        {
            if ((include is null || include(client)) && !client.Closed && Volatile.Read(ref client.Deliveries) < expected)
            {
                return false;
            }
        }

        return true;
    }

    public Histogram MergedLatency(Func<LoadClient, bool>? include = null)
    {
        var merged = new Histogram();
        foreach (var client in Clients)
        {
            if (include is null || include(client))
            {
                merged.Add(client.Latency);
            }
        }

        return merged;
    }

    public void ResetLatency()
    {
        foreach (var client in Clients)
        {
            client.Latency.Reset();
        }
    }

    /// <summary>Lost, duplicated and out-of-order deliveries across the included clients.</summary>
    public (long Lost, long Duplicates, long OutOfOrder, int Closed) Integrity(Func<LoadClient, bool>? include = null)
    {
        long lost = 0, duplicates = 0, outOfOrder = 0;
        var closed = 0;
        var expected = TotalSent;
        foreach (var client in Clients)
        {
            if (include is not null && !include(client))
            {
                continue;
            }

            closed += client.Closed ? 1 : 0;
            var unique = client.Deliveries - client.Duplicates - client.OutOfOrder;
            lost += Math.Max(0, expected - unique);
            duplicates += client.Duplicates;
            outOfOrder += client.OutOfOrder;
        }

        return (lost, duplicates, outOfOrder, closed);
    }

    /// <summary>
    /// Chat's message ids across the included clients: how many deliveries carried one, how many were not above the
    /// receiver's previous id (two orders in one room), how many differed from another receiver's id for the same
    /// message.
    /// </summary>
    public (long Seen, long NotIncreasing, long Mismatched) IdChecks(Func<LoadClient, bool>? include = null)
    {
        long seen = 0, notIncreasing = 0, mismatched = 0;
        foreach (var client in Clients)
        {
            if (include is null || include(client))
            {
                seen += Volatile.Read(ref client.IdsSeen);
                notIncreasing += Volatile.Read(ref client.IdsNotIncreasing);
                mismatched += Volatile.Read(ref client.IdMismatches);
            }
        }

        return (seen, notIncreasing, mismatched);
    }

    public long Sum(Func<LoadClient, long> value)
    {
        long total = 0;
        foreach (var client in Clients)
        {
            total += value(client);
        }

        return total;
    }

    /// <summary>Closes every client (1000) and waits, bounded, for their loops to end.</summary>
    public async Task CloseAllAsync(TimeSpan timeout)
    {
        foreach (var client in Clients)
        {
            client.Resume();
            client.Close();
        }

        Task[] running;
        lock (loops)
        {
            running = [.. loops];
        }

        await Task.WhenAny(Task.WhenAll(running), Task.Delay(timeout));
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (keepAlive is not null)
        {
            await keepAlive;
        }

        foreach (var client in Clients)
        {
            client.Dispose();
        }

        stop.Dispose();
    }

    /// <summary>SignalR drops a client it has not heard from in 30 s; idle clients ping every 10 s (hub protocol type 6).</summary>
    private async Task KeepAliveAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
                foreach (var client in Clients)
                {
                    client.SendSignalRPing();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
