using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.ServiceDefaults.Tests;

public sealed partial class OtlpExportTests
{
    [Fact]
    public async Task Traces_metrics_and_logs_reach_the_otlp_endpoint_when_it_is_set()
    {
        await using var receiver = await OtlpReceiver.StartAsync();

        await RunAppWithTrafficAsync(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });

        using var timeout = LoopbackApp.TimeoutSource();
        await receiver.ReceivedAsync("/v1/traces").WaitAsync(timeout.Token);
        await receiver.ReceivedAsync("/v1/metrics").WaitAsync(timeout.Token);
        await receiver.ReceivedAsync("/v1/logs").WaitAsync(timeout.Token);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public async Task Nothing_is_exported_when_the_endpoint_is_unset_even_if_per_signal_endpoints_are(string? endpoint)
    {
        await using var receiver = await OtlpReceiver.StartAsync();

        // The exporter honours these per-signal endpoints, so an exporter switched on by mistake would post here.
        await RunAppWithTrafficAsync(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = new Uri(receiver.Endpoint, "v1/traces").ToString(),
            ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = new Uri(receiver.Endpoint, "v1/metrics").ToString(),
            ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"] = new Uri(receiver.Endpoint, "v1/logs").ToString(),
        });

        Assert.Empty(receiver.Paths);
    }

    /// <summary>Serves one logged request, then stops the app: disposing the providers flushes every batch.</summary>
    private static async Task RunAppWithTrafficAsync(Dictionary<string, string?> settings)
    {
        var builder = LoopbackApp.CreateBuilder(settings);
        builder.AddServiceDefaults();
        var app = builder.Build();
        app.MapGet("/hello", (ILogger<OtlpExportTests> logger) =>
        {
            LogHello(logger);
            return "hello";
        });

        using (var client = await app.StartOnLoopbackAsync())
        {
            Assert.Equal("hello", await client.GetStringAsync("/hello", TestContext.Current.CancellationToken));
        }

        await app.StopAsync(TestContext.Current.CancellationToken);
        await app.DisposeAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Said hello")]
    private static partial void LogHello(ILogger logger);
}
