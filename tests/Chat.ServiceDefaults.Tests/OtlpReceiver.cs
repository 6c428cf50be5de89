using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Chat.ServiceDefaults.Tests;

/// <summary>
/// A stand-in OTLP/HTTP collector on loopback: records the path of every export (<c>/v1/traces</c>, <c>/v1/metrics</c>,
/// <c>/v1/logs</c>) and acknowledges it with an empty protobuf body, which is a valid empty Export*ServiceResponse.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _paths = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _arrivals = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public Uri Endpoint => _app.BaseAddress();

    public IReadOnlyCollection<string> Paths => _paths;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var app = LoopbackApp.CreateBuilder().Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            receiver.Record(context.Request.Path);
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return receiver;
    }

    /// <summary>Completes when an export has arrived at <paramref name="path"/>; callers bound the wait.</summary>
    public Task ReceivedAsync(string path) => Arrival(path).Task;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private void Record(string path)
    {
        _paths.Enqueue(path);
        Arrival(path).TrySetResult();
    }

    private TaskCompletionSource Arrival(string path) =>
        _arrivals.GetOrAdd(path, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
