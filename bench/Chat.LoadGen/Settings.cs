using System.Globalization;
using System.Net;

namespace Chat.LoadGen;

/// <summary>Command-line settings: <c>scenario --name value ...</c>.</summary>
internal sealed class Settings
{
    private readonly Dictionary<string, string> values;
    private IReadOnlyList<Uri>? urls;

    private Settings(string scenario, Dictionary<string, string> values)
    {
        Scenario = scenario;
        this.values = values;
    }

    public string Scenario { get; }

    /// <summary>The first server; <c>--urls a,b</c> names several replicas of one chat.</summary>
    public Uri Url => Urls[0];

    /// <summary>
    /// Replicas of one chat (<c>--urls http://127.0.0.1:5381,http://127.0.0.1:5382</c>), or the one <c>--url</c>.
    /// Client i connects to replica i mod n, so each room has members, and senders, on every replica.
    /// </summary>
    public IReadOnlyList<Uri> Urls => urls ??= [.. Text("urls", Text("url", "http://127.0.0.1:5000"))
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => new Uri(u))];

    public IPEndPoint EndPoint => EndPointFor(0);

    public IPEndPoint EndPointFor(int index)
    {
        var url = Urls[index % Urls.Count];
        return new(IPAddress.Parse(url.Host), url.Port);
    }

    public WireProtocol Protocol => Text("protocol", "chat").ToUpperInvariant() switch
    {
        "CHAT" => WireProtocol.Chat,
        "SIGNALR" => WireProtocol.SignalR,
        var other => throw new ArgumentException($"Unknown protocol '{other}' (chat or signalr)."),
    };

    /// <summary>The server's name in results, e.g. Chat.Api.</summary>
    public string Label => Text("label", "server");

    public int ServerPid => ServerPids.Count > 0 ? ServerPids[0] : 0;

    /// <summary>
    /// <c>--server-pid 11,12,13</c>: every process that serves the chat (replicas, Redis), pinned to the server core;
    /// their CPU and memory are counted together.
    /// </summary>
    public IReadOnlyList<int> ServerPids => [.. Text("server-pid", "0")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(p => int.Parse(p, CultureInfo.InvariantCulture)).Where(p => p > 0)];

    /// <summary><c>--redis 127.0.0.1:6379</c>: the Redis server behind the replicas, whose commands are counted per message.</summary>
    public string? Redis => values.GetValueOrDefault("redis");

    public int Clients => Int("clients", 200);

    public int Senders => Int("senders", 20);

    /// <summary>Messages per second from each sender.</summary>
    public double Rate => Double("rate", 10);

    public double WarmupSeconds => Double("warmup", 3);

    public double DurationSeconds => Double("duration", 10);

    /// <summary>Upper bound on the whole run; each phase also has its own.</summary>
    public double MaxSeconds => Double("max-seconds", 180);

    /// <summary>The ramp's latency bound; <c>--as ramp_lossless</c> files a ramp run with another bound under its own name.</summary>
    public double P99LimitMs => Double("p99-limit-ms", 250);

    public double RampFactor => Double("factor", 1.6);

    public int RampSteps => Int("steps", 14);

    /// <summary>Ramp: seconds of unmeasured chat at the first rate before the first step (0: none).</summary>
    public double SettleSeconds => Double("settle", 0);

    /// <summary>Bisection steps between the last rate that passed and the first that failed.</summary>
    public int RampRefinements => Int("refinements", 3);

    public double HoldSeconds => Double("hold", 5);

    /// <summary>
    /// Connection scenarios: messages each client sends at once after joining, so that a server pacing them is
    /// measured with every connection paced.
    /// </summary>
    public int Burst => Int("burst", 0);

    /// <summary>Connection scenarios: clients closed at once after the hold, spread over the room; the rest stay.</summary>
    public int Leave => Int("leave", 0);

    /// <summary>Filler characters per message (at most about 900 keeps it under the 1000-character limit).</summary>
    public int Padding => Int("pad", 0);

    public int ConnectConcurrency => Int("connect-concurrency", 32);

    public string? Output => values.GetValueOrDefault("out");

    /// <summary>Path to Chat.HeapCensus.dll: the connection scenarios then also count the server's live heap.</summary>
    public string? CensusTool => values.GetValueOrDefault("census");

    public string Room => Text("room", "bench");

    /// <summary>Clients per room; 0 puts everyone in one room (the SignalR hub has one room only).</summary>
    public int RoomSize => Int("room-size", 0);

    public string PathFor(string name, int index) => Protocol == WireProtocol.SignalR
        ? $"/hub?username={name}"
        : $"/ws/{name}?room={Room}{(RoomSize > 0 ? (index / RoomSize).ToString(CultureInfo.InvariantCulture) : "")}";

    public static Settings Parse(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            throw new ArgumentException("Usage: Chat.LoadGen fanout|ramp|connections|idle|slow|report [--name value]...");
        }

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' at '{args[i]}'.");
            }

            values[args[i][2..]] = args[++i];
        }

        return new Settings(args[0].ToUpperInvariant(), values);
    }

    public string Text(string name, string fallback) => values.GetValueOrDefault(name, fallback);

    public int Int(string name, int fallback) =>
        values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) =>
        values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
