using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Chat.LoadGen;

/// <summary>What one paced phase measured.</summary>
internal sealed record Phase(
    double TargetDeliveriesPerSecond,
    double DeliveriesPerSecond,
    double SentPerSecond,
    Histogram Latency,
    double ServerCpuUsPerDelivery,
    double GeneratorCores,
    bool Drained,
    long Lost,
    long Duplicates,
    long OutOfOrder,
    int Closed,
    double[] CoreBusy,
    double ServerCores,
    long SentInWindow,
    (long Seen, long NotIncreasing, long Mismatched) Ids,
    Dictionary<string, long>? RedisCalls,
    double[] CpuShares)
{
    public bool GeneratorBound => GeneratorCores >= 0.9 * Environment.ProcessorCount;
}

internal static class Scenarios
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    public static async Task<Result> FanoutAsync(Settings settings)
    {
        var server = new ProcessProbe(settings.ServerPids);
        await using var crowd = new Crowd(settings);
        var result = new Result("fanout", settings.Label);
        if (!await JoinEveryoneAsync(crowd, settings, settings.Clients, settings.Senders, result))
        {
            return result;
        }

        using var memory = MemorySampler.Start(server);
        var phase = await RunPhaseAsync(crowd, server, settings.Rate, settings.WarmupSeconds, settings.DurationSeconds, null,
            redis: settings.Redis);
        AddPhase(result, phase, settings);
        AddTransportCounts(result, crowd);
        result.Add("messages_sent_total", crowd.TotalSent);
        result.Add("server_peak_rss_mb", memory.PeakMb);
        await crowd.CloseAllAsync(TimeSpan.FromSeconds(5));
        return result;
    }

    /// <summary>
    /// Raises the rate step by step until p99 passes the limit, something is lost, or the generator saturates; then
    /// bisects between the last step that passed and the first that failed. A step that dropped clients leaves a
    /// broken crowd, so the bisection goes on with a fresh one.
    /// </summary>
    public static async Task<Result> RampAsync(Settings settings)
    {
        var server = new ProcessProbe(settings.ServerPids);
        var crowd = new Crowd(settings);
        try
        {
            var result = new Result(settings.Text("as", "ramp"), settings.Label);
            if (!await JoinEveryoneAsync(crowd, settings, settings.Clients, settings.Senders, result))
            {
                return result;
            }

            using var memory = MemorySampler.Start(server);
            using var http = new HttpClient { BaseAddress = settings.Url, Timeout = TimeSpan.FromSeconds(10) };
            if (settings.SettleSeconds > 0)
            {
                // Unmeasured chat at the first rate: a freshly started server's first seconds (JIT, thread pool
                // growth, a backplane's connections) are not its sustained rate.
                await Task.Factory.StartNew(
                    () => crowd.SendFor(settings.Rate, TimeSpan.FromSeconds(settings.SettleSeconds)),
                    CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                await Crowd.WaitUntilAsync(() => crowd.AllDelivered(), DrainTimeout);
                result.Add("settled_s", settings.SettleSeconds);
            }

            var started = Stopwatch.GetTimestamp();
            var rate = settings.Rate;
            Phase? best = null;
            double bestRate = 0, failedRate = 0;
            var stopReason = "step limit";
            var steps = new List<string>();
            long sentBefore = 0;
            var refinements = settings.RampRefinements;
            for (var step = 0; step < settings.RampSteps; step++)
            {
                if (Stopwatch.GetElapsedTime(started).TotalSeconds > settings.MaxSeconds)
                {
                    stopReason = "time limit";
                    break;
                }

                var phase = await RunPhaseAsync(crowd, server, rate, settings.WarmupSeconds, settings.DurationSeconds, null,
                    redis: settings.Redis);
                var failure = Failure(phase, settings);
                steps.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{rate:0.#}/s/sender: {phase.DeliveriesPerSecond:N0}/s p99 {phase.Latency.PercentileMs(0.99):0.##} ms " +
                    $"cpu {phase.ServerCpuUsPerDelivery:0.###} us gen {phase.GeneratorCores:0.00}{(failure is null ? "" : " FAIL " + failure)}") +
                    (phase.Closed > 0 ? $" ({CloseCodes(crowd)})" : ""));
                Console.WriteLine($"  step {steps[^1]}");
                if (failure is null)
                {
                    (best, bestRate) = (phase, rate);
                }
                else
                {
                    failedRate = rate;
                    stopReason = phase.GeneratorBound ? failure + " (generator-bound)" : failure;
                    if (best is null || refinements == 0)
                    {
                        break;
                    }

                    if ((phase.Closed > 0 || !phase.Drained) && !await RejoinAsync())
                    {
                        stopReason += "; could not rejoin to bisect";
                        break;
                    }
                }

                // Geometric steps up; once a step has failed, bisect between the last pass and the first failure.
                if (failedRate > 0)
                {
                    if (refinements-- == 0)
                    {
                        break;
                    }

                    rate = (bestRate + failedRate) / 2;
                }
                else
                {
                    rate *= settings.RampFactor;
                }
            }

            result.Add("clients", crowd.Clients.Count).Add("senders", settings.Senders);
            result.Add("max_deliveries_per_s", best?.DeliveriesPerSecond ?? 0.0);
            result.Add("max_at_rate_per_sender", bestRate);
            result.Add("first_failed_rate_per_sender", failedRate);
            result.Add("p99_ms_at_max", best?.Latency.PercentileMs(0.99) ?? double.NaN);
            result.Add("server_cpu_us_per_delivery_at_max", best?.ServerCpuUsPerDelivery ?? double.NaN);
            result.Add("generator_cores_at_max", best?.GeneratorCores ?? double.NaN);
            result.Add("generator_bound", stopReason.Contains("generator", StringComparison.Ordinal) || (best?.GeneratorBound ?? false));
            result.Add("stopped_because", stopReason);
            if (best is not null)
            {
                AddCoreLoad(result, best, settings, "_at_max");
                AddCrossReplica(result, best, "_at_max");
            }

            result.Add("server_peak_rss_mb", memory.PeakMb);
            AddTransportCounts(result, crowd);
            result.Add("steps", string.Join(" | ", steps));
            result.Add("messages_sent_total", sentBefore + crowd.TotalSent);
            await crowd.CloseAllAsync(TimeSpan.FromSeconds(5));
            return result;

            // The survivors close, the server empties the room, and a new crowd joins under new names. New sockets
            // start with small TCP windows and a server with empty queues, so the crowd climbs back to the last rate
            // that passed before the bisection goes on: thrown straight at a high rate, fresh connections fail where
            // warmed ones do not.
            async Task<bool> RejoinAsync()
            {
                await crowd.CloseAllAsync(TimeSpan.FromSeconds(5));
                sentBefore += crowd.TotalSent;
                await crowd.DisposeAsync();
                crowd = new Crowd(settings);
                if (!await WaitForZeroUsersAsync(http, settings, TimeSpan.FromSeconds(30))
                    || !await JoinEveryoneAsync(crowd, settings, settings.Clients, settings.Senders, new Result("ramp", settings.Label)))
                {
                    return false;
                }

                for (var climb = bestRate / 16; ; climb = Math.Min(climb * 2, bestRate))
                {
                    var warm = await RunPhaseAsync(crowd, server, climb, 1, 1, null);
                    if (Failure(warm, settings) is { } failed)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  climbing back: {climb:0.#}/s/sender failed: {failed}"));
                        return false;
                    }

                    if (climb >= bestRate)
                    {
                        return true;
                    }
                }
            }
        }
        finally
        {
            await crowd.DisposeAsync();
        }
    }

    /// <summary>
    /// C idle clients join one room (or rooms of <c>--room-size</c>: "idle", where the joins make little garbage
    /// and the memory per connection shows), stay, and leave; /stats must come back to zero. With <c>--leave N</c>,
    /// N of them close at once first: those who stay must all stay connected, each hear of every departure once, and
    /// /stats must count them.
    /// </summary>
    public static async Task<Result> ConnectionsAsync(Settings settings, string scenario)
    {
        var server = new ProcessProbe(settings.ServerPids);
        var result = new Result(scenario, settings.Label);
        using var http = new HttpClient { BaseAddress = settings.Url, Timeout = TimeSpan.FromSeconds(10) };
        await using var crowd = new Crowd(settings);
        // Settle the server (JIT, first room) with one client before measuring its memory.
        await WarmUpAsync(settings);
        await Task.Delay(500);
        var censusBefore = await HeapCensus.TakeAsync(settings.CensusTool, settings.ServerPid);
        var before = server.MemoryKib().Rss;
        var anonBefore = server.AnonKib();
        var timeout = TimeSpan.FromSeconds(settings.MaxSeconds);
        var started = Stopwatch.GetTimestamp();
        var ownAtStart = OwnCpu.Now();
        var serverCpuAtStart = server.CpuSeconds();
        // Small receive buffers: 10,000 idle clients; a big welcome frame grows one only while it is parsed.
        await crowd.ConnectAsync(settings.Clients, 0, timeout, bufferSize: 4096);
        var connected = crowd.Clients.Count;
        var connectSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var expectedJoins = ExpectedJoins(connected, settings.Protocol == WireProtocol.SignalR ? 0 : settings.RoomSize);
        var allJoined = await Crowd.WaitUntilAsync(() => crowd.Joins >= expectedJoins, timeout - Stopwatch.GetElapsedTime(started));
        var joinedSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var joins = crowd.Joins;
        var generatorCores = OwnCpu.Now().CoresSince(ownAtStart);
        var serverCores = (server.CpuSeconds() - serverCpuAtStart) / joinedSeconds;
        if (settings.Burst > 0)
        {
            foreach (var client in crowd.Clients)
            {
                for (var i = 0; i < settings.Burst; i++)
                {
                    client.SendText($"{{\"message\":\"burst {i}\"}}");
                }
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(settings.HoldSeconds));
        var sendersPaced = settings.Burst > 0 ? await HealthFigureAsync(http, "senders_paced") : -1;
        var held = server.MemoryKib();
        var anonHeld = server.AnonKib();
        var censusHeld = censusBefore is null ? null : await HeapCensus.TakeAsync(settings.CensusTool, settings.ServerPid);
        var openAfterHold = crowd.Clients.Count(c => !c.Closed);
        var reported = await TotalUsersAsync(http);
        if (settings.Leave > 0)
        {
            await DepartAsync(crowd, server, http, settings, result);
        }

        var closing = Stopwatch.GetTimestamp();
        await crowd.CloseAllAsync(TimeSpan.FromSeconds(20));
        var zero = await WaitForZeroUsersAsync(http, settings, TimeSpan.FromSeconds(45));
        var zeroSeconds = Stopwatch.GetElapsedTime(closing).TotalSeconds;
        var cleanCloses = crowd.Clients.Count(c => c.CloseCode == 1000);

        result.Add("connections_requested", settings.Clients).Add("room_size", settings.RoomSize == 0 ? settings.Clients : settings.RoomSize)
            .Add("connected", connected)
            .Add("connect_failures", crowd.ConnectFailures).Add("first_connect_error", crowd.FirstConnectError ?? "")
            .Add("connect_s", connectSeconds).Add("connects_per_s", connected / connectSeconds)
            .Add("joins_expected", expectedJoins).Add("joins_delivered", joins).Add("all_joins_delivered", allJoined)
            .Add("all_joined_after_s", joinedSeconds)
            .Add("generator_cores_while_joining", generatorCores).Add("server_cores_while_joining", serverCores)
            .Add("generator_bound", generatorCores >= 0.9 * Environment.ProcessorCount)
            .Add("open_after_hold", openAfterHold).Add("stats_total_users_held", reported)
            .Add("burst_per_client", settings.Burst).Add("senders_paced_held", sendersPaced)
            .Add("server_rss_before_mb", before / 1024.0).Add("server_rss_held_mb", held.Rss / 1024.0)
            .Add("server_peak_rss_mb", held.Peak / 1024.0)
            .Add("server_rss_anon_before_mb", anonBefore / 1024.0).Add("server_rss_anon_held_mb", anonHeld / 1024.0)
            .Add("kb_per_connection", connected == 0 ? double.NaN : (anonHeld - anonBefore) / (double)connected)
            .Add("rss_kb_per_connection", connected == 0 ? double.NaN : (held.Rss - before) / (double)connected)
            .Add("live_heap_kb_per_connection", censusBefore is null || censusHeld is null || connected == 0
                ? double.NaN : (censusHeld.Bytes - censusBefore.Bytes) / 1024.0 / connected)
            .Add("live_heap_largest", censusBefore is null || censusHeld is null || connected == 0
                ? "" : censusHeld.LargestGrowth(censusBefore, connected, 8))
            .Add("stats_zero_after_close", zero).Add("stats_zero_after_s", zeroSeconds)
            .Add("closed_with_1000", cleanCloses);
        return result;
    }

    /// <summary>
    /// The mass departure: <c>--leave</c> clients, spread over the crowd, close at once. Measures when /stats counts
    /// only those who stay, when each of them has heard of every departure (exactly once, and of nobody else), and
    /// how many of them are still connected a second later.
    /// </summary>
    private static async Task DepartAsync(Crowd crowd, ProcessProbe server, HttpClient http, Settings settings, Result result)
    {
        var clients = crowd.Clients;
        var leave = Math.Min(settings.Leave, clients.Count - 1);
        var remain = clients.Count - leave;
        bool Stays(int i) => (long)(i + 1) * remain / clients.Count > (long)i * remain / clients.Count;
        var leaving = clients.Where((_, i) => !Stays(i)).ToList();
        var staying = clients.Where((_, i) => Stays(i)).ToList();
        foreach (var client in staying)
        {
            client.Owed = new bool[settings.Clients];
            foreach (var leaver in leaving)
            {
                client.Owed[leaver.Index] = true;
            }
        }

        var serverCpu = server.CpuSeconds();
        var started = Stopwatch.GetTimestamp();
        foreach (var client in leaving)
        {
            client.Close();
        }

        // One budget for both waits, so that the run stays within its watchdog whatever the server does.
        var timeout = TimeSpan.FromSeconds(30);
        var users = -1;
        while (Stopwatch.GetElapsedTime(started) < timeout && ((users = await TotalUsersAsync(http)) < 0 || users > remain))
        {
            await Task.Delay(50);
        }

        var statsSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await Crowd.WaitUntilAsync(
            () => staying.All(c => c.Closed || Volatile.Read(ref c.OwedLefts) == leave), timeout - Stopwatch.GetElapsedTime(started));
        var heard = staying.All(c => Volatile.Read(ref c.OwedLefts) == leave);
        var heardSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var serverCpuSeconds = server.CpuSeconds() - serverCpu;

        // Anyone about to be dropped as too slow would be by now.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var stillConnected = staying.Count(c => !c.Closed);
        var leftStats = await TotalUsersAsync(http);
        result.Add("leave", leave).Add("remaining", remain)
            .Add("remaining_connected", stillConnected)
            .Add("remaining_closed_how", CloseCodes(staying))
            .Add("stats_users_after_leave", leftStats).Add("stats_right_after_leave", leftStats == remain)
            .Add("stats_right_after_leave_s", users == remain ? statsSeconds : double.NaN)
            .Add("all_departures_heard", heard).Add("all_departures_heard_after_s", heard ? heardSeconds : double.NaN)
            .Add("departures_missing", staying.Sum(c => leave - c.OwedLefts))
            .Add("departures_unexpected", staying.Sum(c => c.UnexpectedLefts))
            .Add("server_cpu_s_until_heard", serverCpuSeconds)
            .Add("leavers_closed_with_1000", leaving.Count(c => c.CloseCode == 1000));
    }

    /// <summary>
    /// The same chat twice: once with everyone reading, once with one client that stops reading. Compares the
    /// others' p99, samples the server's memory, and notes when (and how) the slow client was dropped.
    /// </summary>
    public static async Task<Result> SlowAsync(Settings settings)
    {
        var server = new ProcessProbe(settings.ServerPids);
        await using var crowd = new Crowd(settings);
        var result = new Result("slow", settings.Label);
        var slowIndex = settings.Clients - 1;
        // A small receive window so the kernel holds little for the slow client and the server feels it soon.
        if (!await JoinEveryoneAsync(crowd, settings, settings.Clients, settings.Senders, result, i => i == slowIndex ? 4096 : 0))
        {
            return result;
        }

        var slow = crowd.Clients[^1];
        bool Others(LoadClient c) => c != slow;
        long droppedAt = 0;
        crowd.Clients[0].UserLeft = (_, name) =>
        {
            if (name == slow.Name)
            {
                Interlocked.CompareExchange(ref droppedAt, Stopwatch.GetTimestamp(), 0);
            }
        };

        var without = await RunPhaseAsync(crowd, server, settings.Rate, settings.WarmupSeconds, settings.DurationSeconds, Others);
        var rssBefore = server.MemoryKib().Rss;

        var series = new List<string>();
        var stoppedAt = 0L;
        var nextSample = 0.0;
        var with = await RunPhaseAsync(crowd, server, settings.Rate, settings.WarmupSeconds, settings.DurationSeconds, Others,
            onWindowStart: () =>
            {
                slow.Pause();
                stoppedAt = Stopwatch.GetTimestamp();
            },
            onTick: elapsed =>
            {
                if (stoppedAt != 0 && Stopwatch.GetElapsedTime(stoppedAt).TotalSeconds >= nextSample)
                {
                    series.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{nextSample:0}s:{server.MemoryKib().Rss / 1024.0:0}"));
                    nextSample += 1;
                }
            },
            beforeDrain: slow.Resume);

        var (peakRss, peak) = server.MemoryKib();
        await Crowd.WaitUntilAsync(() => slow.Closed, TimeSpan.FromSeconds(3));
        var p99Without = without.Latency.PercentileMs(0.99);
        var p99With = with.Latency.PercentileMs(0.99);
        result.Add("clients", crowd.Clients.Count).Add("senders", settings.Senders).Add("rate_per_sender", settings.Rate)
            .Add("padding_bytes", settings.Padding)
            .Add("p50_ms_without", without.Latency.PercentileMs(0.5)).Add("p99_ms_without", p99Without)
            .Add("p50_ms_with_slow", with.Latency.PercentileMs(0.5)).Add("p99_ms_with_slow", p99With)
            .Add("max_ms_with_slow", with.Latency.Max / 1000.0)
            .Add("p99_ratio", p99With / p99Without)
            .Add("others_lost", without.Lost + with.Lost).Add("others_out_of_order", with.OutOfOrder + with.Duplicates)
            .Add("others_closed", with.Closed)
            .Add("slow_dropped", droppedAt != 0)
            .Add("slow_dropped_after_s", droppedAt == 0 ? double.NaN : Stopwatch.GetElapsedTime(stoppedAt, droppedAt).TotalSeconds)
            .Add("slow_close", slow.CloseCode != 0 ? $"{slow.CloseCode} {slow.CloseReason}"
                : slow.CloseReason is { } hubClose ? hubClose
                : slow.Closed ? "ended without a close frame" : "still open")
            .Add("server_rss_before_slow_mb", rssBefore / 1024.0).Add("server_rss_end_mb", peakRss / 1024.0)
            .Add("server_peak_rss_mb", peak / 1024.0)
            .Add("server_rss_mb_over_time", string.Join(' ', series))
            .Add("generator_cores", with.GeneratorCores)
            .Add("server_pings_answered", crowd.Sum(c => c.PingsAnswered));
        AddCoreLoad(result, with, settings, "_with_slow");
        await crowd.CloseAllAsync(TimeSpan.FromSeconds(5));
        return result;
    }

    /// <summary>Each client hears its own join and every later one in its room.</summary>
    private static long ExpectedJoins(int clients, int roomSize)
    {
        if (roomSize <= 0)
        {
            return (long)clients * (clients + 1) / 2;
        }

        long total = 0;
        for (var first = 0; first < clients; first += roomSize)
        {
            long members = Math.Min(roomSize, clients - first);
            total += members * (members + 1) / 2;
        }

        return total;
    }

    private static async Task<bool> JoinEveryoneAsync(
        Crowd crowd, Settings settings, int clients, int senders, Result result, Func<int, int>? receiveBufferFor = null)
    {
        var started = Stopwatch.GetTimestamp();
        await crowd.ConnectAsync(clients, senders, TimeSpan.FromSeconds(60), receiveBufferFor);
        var expectedJoins = (long)crowd.Clients.Count * (crowd.Clients.Count + 1) / 2;
        bool joined;
        if (settings.Urls.Count == 1)
        {
            joined = await Crowd.WaitUntilAsync(() => crowd.Joins >= expectedJoins, TimeSpan.FromSeconds(60));
        }
        else
        {
            // Across replicas a join and the joins around it may reach a client in another order than on one server,
            // so the count may legitimately differ from C(C+1)/2: each client must hear its own join, and the count
            // is reported, not required, once it has stopped moving for 3 s.
            var stable = Stopwatch.GetTimestamp();
            var last = -1L;
            joined = await Crowd.WaitUntilAsync(() =>
            {
                var joins = crowd.Joins;
                if (joins != last)
                {
                    (last, stable) = (joins, Stopwatch.GetTimestamp());
                }

                return crowd.Clients.All(c => Volatile.Read(ref c.Joins) > 0)
                    && (joins >= expectedJoins || Stopwatch.GetElapsedTime(stable).TotalSeconds > 3);
            }, TimeSpan.FromSeconds(60));
            result.Add("join_notices", crowd.Joins).Add("join_notices_expected", expectedJoins)
                .Add("join_notices_of_present_users", crowd.Sum(c => Volatile.Read(ref c.JoinsOfPresent)));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {crowd.Clients.Count} clients joined in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s ({crowd.Joins}/{expectedJoins} join notices)"));
        if (crowd.Clients.Count == clients && joined)
        {
            return true;
        }

        result.Add("error", $"only {crowd.Clients.Count}/{clients} connected ({crowd.FirstConnectError}), joins {crowd.Joins}/{expectedJoins}");
        return false;
    }

    private static async Task<Phase> RunPhaseAsync(
        Crowd crowd,
        ProcessProbe server,
        double rate,
        double warmupSeconds,
        double durationSeconds,
        Func<LoadClient, bool>? include,
        Action? onWindowStart = null,
        Action<TimeSpan>? onTick = null,
        Action? beforeDrain = null,
        string? redis = null)
    {
        long deliveriesAtStart = 0, deliveriesAtEnd = 0, sentAtStart = 0, sentAtEnd = 0;
        double cpuAtStart = 0, cpuAtEnd = 0;
        double[] eachAtStart = [], eachAtEnd = [];
        Dictionary<string, long>? redisAtStart = null, redisAtEnd = null;
        var ownAtStart = default(OwnCpu);
        var ownAtEnd = default(OwnCpu);
        var coresAtStart = default(CoreTimes);
        var coresAtEnd = default(CoreTimes);
        long windowStart = 0, windowEnd = 0;
        long IncludedDeliveries() => crowd.Sum(c => include is null || include(c) ? Volatile.Read(ref c.Deliveries) : 0);

        crowd.Window.Start = long.MaxValue;
        crowd.ResetLatency();
        await Task.Factory.StartNew(() =>
        {
            crowd.SendFor(rate, TimeSpan.FromSeconds(warmupSeconds), onTick);
            onWindowStart?.Invoke();
            crowd.Window.Start = windowStart = Stopwatch.GetTimestamp();
            crowd.Window.End = long.MaxValue;
            deliveriesAtStart = IncludedDeliveries();
            sentAtStart = crowd.TotalSent;
            cpuAtStart = server.CpuSeconds();
            eachAtStart = server.CpuSecondsEach();
            redisAtStart = RedisCommandStats.Read(redis);
            ownAtStart = OwnCpu.Now();
            coresAtStart = CoreTimes.Now();
            crowd.SendFor(rate, TimeSpan.FromSeconds(durationSeconds), onTick);
            crowd.Window.End = windowEnd = Stopwatch.GetTimestamp();
            deliveriesAtEnd = IncludedDeliveries();
            sentAtEnd = crowd.TotalSent;
            cpuAtEnd = server.CpuSeconds();
            eachAtEnd = server.CpuSecondsEach();
            redisAtEnd = RedisCommandStats.Read(redis);
            ownAtEnd = OwnCpu.Now();
            coresAtEnd = CoreTimes.Now();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        beforeDrain?.Invoke();
        var drained = await Crowd.WaitUntilAsync(() => crowd.AllDelivered(include), DrainTimeout);
        var seconds = Stopwatch.GetElapsedTime(windowStart, windowEnd).TotalSeconds;
        var delivered = deliveriesAtEnd - deliveriesAtStart;
        var recipients = crowd.Clients.Count(c => include is null || include(c));
        var (lost, duplicates, outOfOrder, closed) = crowd.Integrity(include);
        var latency = crowd.MergedLatency(include);
        return new Phase(
            crowd.Clients.Count == 0 ? 0 : rate * Math.Min(crowd.Clients.Count, crowd.SenderCount) * recipients,
            delivered / seconds,
            (sentAtEnd - sentAtStart) / seconds,
            latency,
            delivered == 0 ? double.NaN : (cpuAtEnd - cpuAtStart) * 1e6 / delivered,
            ownAtEnd.CoresSince(ownAtStart),
            drained,
            lost,
            duplicates,
            outOfOrder,
            closed,
            coresAtEnd.BusySince(coresAtStart),
            (cpuAtEnd - cpuAtStart) / seconds,
            sentAtEnd - sentAtStart,
            crowd.IdChecks(include),
            redisAtStart is null || redisAtEnd is null ? null : RedisCommandStats.Since(redisAtEnd, redisAtStart),
            [.. eachAtEnd.Zip(eachAtStart, (end, start) => cpuAtEnd > cpuAtStart ? (end - start) / (cpuAtEnd - cpuAtStart) : double.NaN)]);
    }

    private static string? Failure(Phase phase, Settings settings)
    {
        if (phase.Closed > 0)
        {
            return $"{phase.Closed} clients closed";
        }

        if (!phase.Drained || phase.Lost > 0)
        {
            return $"lost {phase.Lost}";
        }

        if (phase.Duplicates + phase.OutOfOrder > 0)
        {
            return "duplicated or reordered";
        }

        if (phase.Ids.NotIncreasing + phase.Ids.Mismatched > 0)
        {
            return $"ids disagree ({phase.Ids.NotIncreasing} not increasing, {phase.Ids.Mismatched} differing)";
        }

        var p99 = phase.Latency.PercentileMs(0.99);
        if (!(p99 <= settings.P99LimitMs))
        {
            return string.Create(CultureInfo.InvariantCulture, $"p99 {p99:0} ms");
        }

        return phase.DeliveriesPerSecond < 0.9 * phase.TargetDeliveriesPerSecond ? "below the offered rate" : null;
    }

    private static void AddPhase(Result result, Phase phase, Settings settings)
    {
        result.Add("clients", settings.Clients).Add("senders", settings.Senders).Add("rate_per_sender", settings.Rate)
            .Add("offered_deliveries_per_s", phase.TargetDeliveriesPerSecond)
            .Add("deliveries_per_s", phase.DeliveriesPerSecond)
            .Add("messages_sent_per_s", phase.SentPerSecond)
            .Add("p50_ms", phase.Latency.PercentileMs(0.5)).Add("p90_ms", phase.Latency.PercentileMs(0.9))
            .Add("p99_ms", phase.Latency.PercentileMs(0.99)).Add("max_ms", phase.Latency.Max / 1000.0)
            .Add("latency_samples", phase.Latency.Count)
            .Add("lost", phase.Lost).Add("duplicated", phase.Duplicates).Add("out_of_order", phase.OutOfOrder)
            .Add("clients_closed", phase.Closed).Add("drained", phase.Drained)
            .Add("server_cpu_s_per_100k", phase.ServerCpuUsPerDelivery / 10)
            .Add("server_cpu_us_per_delivery", phase.ServerCpuUsPerDelivery)
            .Add("generator_cores", phase.GeneratorCores).Add("generator_bound", phase.GeneratorBound);
        AddCoreLoad(result, phase, settings, string.Empty);
        AddCrossReplica(result, phase, string.Empty);
    }

    /// <summary>
    /// What only several replicas can get wrong, and what they cost: whether Chat's message ids were one order per room
    /// and the same at every receiver, Redis's commands per message sent, and each process's share of the server CPU.
    /// </summary>
    private static void AddCrossReplica(Result result, Phase phase, string suffix)
    {
        result.Add("ids_seen" + suffix, phase.Ids.Seen)
            .Add("ids_not_increasing" + suffix, phase.Ids.NotIncreasing)
            .Add("ids_differing" + suffix, phase.Ids.Mismatched);
        if (phase.RedisCalls is { } calls)
        {
            result.Add("redis_commands_per_message" + suffix,
                    phase.SentInWindow == 0 ? double.NaN : calls.Values.Sum() / (double)phase.SentInWindow)
                .Add("redis_calls_per_message" + suffix, RedisCommandStats.PerMessage(calls, phase.SentInWindow));
        }

        if (phase.CpuShares.Length > 1)
        {
            result.Add("server_cpu_split" + suffix, string.Join(' ', phase.CpuShares.Select(
                share => string.Create(CultureInfo.InvariantCulture, $"{share:P0}").Replace(" ", "", StringComparison.Ordinal))));
        }
    }

    /// <summary>
    /// How busy each core was and how much of the server's and the generator's cores went to other processes: on a
    /// shared machine that says whether a figure is the server's or the neighbours'.
    /// </summary>
    private static void AddCoreLoad(Result result, Phase phase, Settings settings, string suffix)
    {
        result.Add("server_cores" + suffix, phase.ServerCores);
        result.Add("core_busy" + suffix, string.Join(' ', phase.CoreBusy.Select((b, i) => string.Create(CultureInfo.InvariantCulture, $"cpu{i}:{b:0.00}"))));
        var serverCore = settings.ServerPid > 0 ? ProcessProbe.PinnedCore(settings.ServerPid.ToString(CultureInfo.InvariantCulture)) : -1;
        var ownCore = ProcessProbe.PinnedCore("self");
        if (serverCore >= 0 && serverCore < phase.CoreBusy.Length)
        {
            result.Add("others_on_server_core" + suffix, Math.Max(0, phase.CoreBusy[serverCore] - phase.ServerCores));
        }

        if (ownCore >= 0 && ownCore < phase.CoreBusy.Length)
        {
            result.Add("others_on_generator_core" + suffix, Math.Max(0, phase.CoreBusy[ownCore] - phase.GeneratorCores));
        }
    }

    private static void AddTransportCounts(Result result, Crowd crowd)
    {
        var receives = crowd.Sum(c => c.Receives);
        result.Add("frames_per_receive", receives == 0 ? double.NaN : crowd.Sum(c => c.Frames) / (double)receives);
    }

    private static async Task WarmUpAsync(Settings settings)
    {
        await using var crowd = new Crowd(settings);
        await crowd.ConnectAsync(1, 0, TimeSpan.FromSeconds(10));
        await Crowd.WaitUntilAsync(() => crowd.Joins >= 1, TimeSpan.FromSeconds(5));
        await crowd.CloseAllAsync(TimeSpan.FromSeconds(2));
    }

    private static async Task<int> TotalUsersAsync(HttpClient http, Uri? server = null)
    {
        try
        {
            var url = server is null ? new Uri("/stats", UriKind.Relative) : new Uri(server, "/stats");
            using var stats = JsonDocument.Parse(await http.GetStringAsync(url));
            return stats.RootElement.GetProperty("total_users").GetInt32();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return -1;
        }
    }

    /// <summary>A number from the server's /health (Chat.Api's own figures), or -1.</summary>
    private static async Task<int> HealthFigureAsync(HttpClient http, string name)
    {
        try
        {
            using var health = JsonDocument.Parse(await http.GetStringAsync(new Uri("/health", UriKind.Relative)));
            return health.RootElement.TryGetProperty(name, out var value) ? value.GetInt32() : -1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return -1;
        }
    }

    /// <summary>How the clients that are closed were closed: "1008 Too slow x12, none x3".</summary>
    private static string CloseCodes(Crowd crowd) => CloseCodes(crowd.Clients);

    private static string CloseCodes(IEnumerable<LoadClient> clients) => string.Join(", ", clients
        .Where(c => c.Closed)
        .GroupBy(c => c.CloseCode == 0 ? "no close frame" : $"{c.CloseCode} {c.CloseReason}")
        .OrderByDescending(g => g.Count())
        .Select(g => $"{g.Key} x{g.Count()}"));

    /// <summary>Until every replica's /stats says nobody is left.</summary>
    private static async Task<bool> WaitForZeroUsersAsync(HttpClient http, Settings settings, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < timeout)
        {
            var zero = true;
            foreach (var url in settings.Urls)
            {
                zero = zero && await TotalUsersAsync(http, url) == 0;
            }

            if (zero)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}

/// <summary>Samples the server's resident memory every 250 ms and keeps the highest.</summary>
internal sealed class MemorySampler : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private long peakKib;

    private MemorySampler()
    {
    }

    public double PeakMb => Volatile.Read(ref peakKib) / 1024.0;

    public static MemorySampler Start(ProcessProbe server)
    {
        var sampler = new MemorySampler();
        _ = sampler.RunAsync(server);
        return sampler;
    }

    public void Dispose()
    {
        stop.Cancel();
        stop.Dispose();
    }

    private async Task RunAsync(ProcessProbe server)
    {
        var token = stop.Token;
        try
        {
            while (!token.IsCancellationRequested && server.Pid > 0)
            {
                var rss = server.MemoryKib().Rss;
                if (rss > peakKib)
                {
                    Volatile.Write(ref peakKib, rss);
                }

                await Task.Delay(250, token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
