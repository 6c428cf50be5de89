using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Chat.AppHost.Tests.Otlp;

namespace Chat.AppHost.Tests;

/// <summary>
/// Chat.Web in front of Chat.Api, started by the real AppHost. The tests share one AppHost; each makes its own traffic
/// and only the chat test sends messages, so its counts are its own.
/// Telemetry is read by decoding the OTLP protobuf requests (Otlp/OtlpDecoder.cs), not by searching raw bytes.
/// </summary>
public sealed class ChatThroughAppHostTests(ChatAppHost services) : IClassFixture<ChatAppHost>, IAsyncDisposable
{
    /// <summary>Exports are batched every second (OTEL_BSP_SCHEDULE_DELAY, OTEL_METRIC_EXPORT_INTERVAL).</summary>
    private static readonly TimeSpan TelemetryTimeout = TimeSpan.FromSeconds(15);

    private readonly HttpClient http = new() { BaseAddress = services.WebAddress, Timeout = TimeSpan.FromSeconds(10) };

    private static CancellationToken CancellationToken => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Web_serves_the_page_and_forwards_health_and_stats_to_the_api()
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"The AppHost had api and web healthy in {services.StartedIn.TotalSeconds:F1} s.");

        using var page = await http.GetAsync("/", CancellationToken);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("chat.js", await page.Content.ReadAsStringAsync(CancellationToken), StringComparison.Ordinal);

        // Chat.Web maps no /health of its own: this answer is the API's report, through the proxy.
        var health = await http.GetFromJsonAsync<JsonElement>("/health", CancellationToken);
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.True(health.TryGetProperty("checks", out var checks) && checks.TryGetProperty("chat", out _), health.ToString());

        var stats = await http.GetFromJsonAsync<JsonElement>("/stats", CancellationToken);
        Assert.True(stats.TryGetProperty("total_rooms", out _), stats.ToString());
    }

    [Fact]
    public async Task The_api_accepts_sockets_from_the_web_origin_it_was_given_and_refuses_others()
    {
        var refused = await ChatClient.ConnectRefusedAsync(services.WebAddress, "mallory", "origins", "http://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, refused);

        await using var carol = await ChatClient.ConnectAsync(services.WebAddress, "carol", "origins", services.WebOrigin);
        Assert.Equal("carol", (await carol.NextEventAsync("user_joined")).GetProperty("user_name").GetString());
        await carol.CloseAsync();
    }

    [Fact]
    public async Task A_message_sent_through_web_reaches_both_clients_and_its_span_and_count_reach_the_collector()
    {
        const string room = "e2e";
        var text = $"hello through the proxy {Guid.NewGuid():N}";

        await using var alice = await ChatClient.ConnectAsync(services.WebAddress, "alice", room, services.WebOrigin);
        var aliceJoined = await alice.NextEventAsync("user_joined");
        Assert.Equal("alice", aliceJoined.GetProperty("user_name").GetString());
        Assert.Equal(room, aliceJoined.GetProperty("room_id").GetString());

        await using var bob = await ChatClient.ConnectAsync(services.WebAddress, "bob", room, services.WebOrigin);
        var bobJoined = await bob.NextEventAsync("user_joined");
        Assert.Equal(["alice", "bob"], bobJoined.GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal("bob", (await alice.NextEventAsync("user_joined")).GetProperty("user_name").GetString());

        var sentAt = DateTimeOffset.UtcNow;
        await alice.SendMessageAsync(text);
        foreach (var client in new[] { alice, bob })
        {
            var message = await client.NextEventAsync("chat_message");
            Assert.Equal("alice", message.GetProperty("user_name").GetString());
            Assert.Equal(text, message.GetProperty("message").GetString());
            var timestamp = DateTimeOffset.FromUnixTimeMilliseconds((long)(message.GetProperty("timestamp").GetDouble() * 1000));
            Assert.InRange(timestamp, sentAt.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        }

        var roomStats = await http.GetFromJsonAsync<JsonElement>($"/room/{room}/stats", CancellationToken);
        Assert.Equal(2, roomStats.GetProperty("user_count").GetInt32());
        Assert.Equal(1, roomStats.GetProperty("message_count").GetInt64());

        // A request span ends, and is exported, when its socket closes.
        await bob.CloseAsync();
        Assert.Equal("bob", (await alice.NextEventAsync("user_left")).GetProperty("user_name").GetString());
        await alice.CloseAsync();

        var receiver = services.Receiver;
        await receiver.WaitUntilAsync(
            r => SendSpan(r, room) is { } sent && ReachesWeb(TraceUpward(r, sent)) && MessagesReceived(r) > 0,
            TelemetryTimeout,
            CancellationToken);

        var send = SendSpan(receiver, room)!;
        Assert.Equal("Chat", send.Scope);
        Assert.Equal("Ok", send.Attributes.GetValueOrDefault("chat.outcome"));
        Assert.Equal(1, MessagesReceived(receiver));

        // Alice's socket is one trace: web's request span, its proxy's call to api, api's request span, then chat.send.
        // Web passed its trace context on (traceparent), so the hop between the two processes shows in the telemetry.
        var trace = TraceUpward(receiver, send);
        Assert.Equal(
            ["web Microsoft.AspNetCore /ws/alice", "web System.Net.Http", "api Microsoft.AspNetCore /ws/alice", "api Chat"],
            trace.Select(s => $"{s.Service} {s.Scope} {s.Attributes.GetValueOrDefault("url.path")}".TrimEnd()).Reverse());
        Assert.Equal("", trace[^1].ParentSpanId);

        // Nothing exported so far (spans up to the sockets' close, metrics and logs of the same seconds) carries the text.
        var textBytes = Encoding.UTF8.GetBytes(text);
        Assert.DoesNotContain(receiver.Exports, e => e.Body.AsSpan().IndexOf(textBytes) >= 0);
    }

    [Fact]
    public async Task Both_services_export_traces_metrics_and_logs_as_the_apphost_configures_them()
    {
        using var stats = await http.GetAsync("/stats", CancellationToken);
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);

        var receiver = services.Receiver;
        string[] names = ["api", "web"];
        await receiver.WaitUntilAsync(
            // Each service's request-duration metric, not only its first export: the /stats request may fall in a later one.
            r => names.All(service => r.Metrics.Any(m => m.Service == service && m.Name == "http.server.request.duration")
                    && r.Logs.Any(l => l.Service == service))
                && r.Spans.Any(s => s.Service == "api" && IsStatsRequest(s) && ReachesWeb(TraceUpward(r, s))),
            TelemetryTimeout,
            CancellationToken);

        // OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, and OTEL_RESOURCE_ATTRIBUTES reached each exporter.
        Assert.All(receiver.Exports, e => Assert.Equal("application/x-protobuf", e.ContentType));
        foreach (var service in names)
        {
            var resources = receiver.Spans.Where(s => s.Service == service).Select(s => s.Resource)
                .Concat(receiver.Metrics.Where(m => m.Service == service).Select(m => m.Resource))
                .Concat(receiver.Logs.Where(l => l.Service == service).Select(l => l.Resource));
            // One instance id per process, as DCP gives each resource replica its own.
            var instanceIds = resources.Select(r => r.GetValueOrDefault("service.instance.id")).Distinct().ToList();
            Assert.Single(instanceIds);
            Assert.False(string.IsNullOrEmpty(instanceIds[0]));
            Assert.Contains(receiver.Metrics, m => m.Service == service && m.Name == "http.server.request.duration");
        }

        // One request, one trace: web's request span, its proxy's call, api's request span.
        var apiStats = receiver.Spans.First(s => s.Service == "api" && IsStatsRequest(s) && ReachesWeb(TraceUpward(receiver, s)));
        Assert.Equal(
            ["web Microsoft.AspNetCore", "web System.Net.Http", "api Microsoft.AspNetCore"],
            TraceUpward(receiver, apiStats).Select(s => $"{s.Service} {s.Scope}").Reverse());
    }

    public ValueTask DisposeAsync()
    {
        if (TestContext.Current.TestState?.Result == TestResult.Failed)
        {
            TestContext.Current.TestOutputHelper?.WriteLine(services.Receiver.Summary());
        }

        http.Dispose();
        return ValueTask.CompletedTask;
    }

    private static ExportedSpan? SendSpan(OtlpReceiver receiver, string room) =>
        receiver.Spans.FirstOrDefault(s => s.Service == "api" && s.Name == "chat.send" && s.Attributes.GetValueOrDefault("chat.room") == room);

    /// <summary>The span and its exported ancestors, nearest first; it stops where a parent has not arrived (yet).</summary>
    private static List<ExportedSpan> TraceUpward(OtlpReceiver receiver, ExportedSpan span)
    {
        var spans = receiver.Spans.Where(s => s.TraceId == span.TraceId).ToList();
        var chain = new List<ExportedSpan> { span };
        while (spans.FirstOrDefault(s => s.SpanId == chain[^1].ParentSpanId) is { } parent && chain.Count < 10)
        {
            chain.Add(parent);
        }

        return chain;
    }

    private static bool ReachesWeb(List<ExportedSpan> trace) =>
        trace[^1] is { Service: "web", Scope: "Microsoft.AspNetCore" };

    /// <summary>The latest total of <c>chat.messages.received</c> from api (a cumulative counter: its last point).</summary>
    private static double MessagesReceived(OtlpReceiver receiver) =>
        receiver.Metrics.Where(m => m.Service == "api" && m.Name == "chat.messages.received" && m.IsCumulative)
            .SelectMany(m => m.Points).Select(p => p.Value).LastOrDefault();

    private static bool IsStatsRequest(ExportedSpan span) =>
        span.Attributes.GetValueOrDefault("url.path") == "/stats" || span.Name.EndsWith("/stats", StringComparison.Ordinal);
}
