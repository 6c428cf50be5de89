using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Chat.Infrastructure.Telemetry;

namespace Chat.Benchmarks;

/// <summary>
/// The span Chat.Api starts around every received message, without and with a listener that samples the "Chat"
/// source. OpenTelemetry's tracer provider is such a listener whenever <c>AddSource("Chat")</c> is registered, as
/// ServiceDefaults and AddChatApi do, whether or not an exporter is configured.
/// </summary>
[MemoryDiagnoser]
public class TelemetryBenchmarks : IDisposable
{
    private ActivityListener? listener;

    [Params(false, true)]
    public bool Listening { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (!Listening)
        {
            return;
        }

        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ChatTelemetry.Name,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        listener?.Dispose();
        listener = null;
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public void SendSpan()
    {
        using var activity = ChatTelemetry.StartCommand("chat.send", "general");
        activity?.SetTag("chat.outcome", "Ok");
    }
}
