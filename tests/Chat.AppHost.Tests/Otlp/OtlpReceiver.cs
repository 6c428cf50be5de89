using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.AppHost.Tests.Otlp;

/// <summary>One OTLP/HTTP export request as it arrived.</summary>
internal sealed record OtlpExport(string Signal, string? ContentType, byte[] Body);

/// <summary>
/// A stand-in OTLP/HTTP collector on loopback. Unlike the ServiceDefaults tests' receiver it keeps each request body,
/// because these tests look inside: which service sent what. Each export is acknowledged with an empty protobuf body,
/// a valid empty Export*ServiceResponse.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<OtlpExport> exports = new();
    private TaskCompletionSource nextArrival = NewArrival();

    private OtlpReceiver(WebApplication app) => this.app = app;

    public Uri Endpoint => new(app.Urls.Single());

    public IReadOnlyCollection<OtlpExport> Exports => exports;

    public IEnumerable<ExportedSpan> Spans => Signal("traces").SelectMany(e => OtlpDecoder.Spans(e.Body));

    public IEnumerable<ExportedMetric> Metrics => Signal("metrics").SelectMany(e => OtlpDecoder.Metrics(e.Body));

    public IEnumerable<ExportedLog> Logs => Signal("logs").SelectMany(e => OtlpDecoder.Logs(e.Body));

    public static async Task<OtlpReceiver> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            receiver.Record(new OtlpExport(signal, context.Request.ContentType, body.ToArray()));
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync(cancellationToken);
        return receiver;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking as each export arrives, for at most <paramref name="timeout"/>.</summary>
    public async Task WaitUntilAsync(Func<OtlpReceiver, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var arrival = Volatile.Read(ref nextArrival).Task;
            if (condition(this))
            {
                return;
            }

            try
            {
                await arrival.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The telemetry expected did not arrive within {timeout.TotalSeconds:0} s. Received: {Summary()}.");
            }
        }
    }

    /// <summary>What arrived, per signal and service, for failure messages.</summary>
    public string Summary()
    {
        var spans = Spans.GroupBy(s => s.Service).Select(g => $"{g.Key}: {g.Count()} spans ({string.Join(", ", g.Select(s => s.Name).Distinct().Take(12))})");
        var metrics = Metrics.GroupBy(m => m.Service).Select(g => $"{g.Key}: {g.Select(m => m.Name).Distinct().Count()} metrics");
        var logs = Logs.GroupBy(l => l.Service).Select(g => $"{g.Key}: {g.Count()} logs");
        return exports.IsEmpty ? "nothing" : string.Join("; ", spans.Concat(metrics).Concat(logs));
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private IEnumerable<OtlpExport> Signal(string signal) => exports.Where(e => e.Signal == signal);

    private void Record(OtlpExport export)
    {
        exports.Enqueue(export);
        Interlocked.Exchange(ref nextArrival, NewArrival()).TrySetResult();
    }

    private static TaskCompletionSource NewArrival() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
