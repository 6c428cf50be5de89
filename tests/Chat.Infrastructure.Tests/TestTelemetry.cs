using System.Diagnostics.Metrics;
using Chat.Infrastructure.Realtime;
using Chat.Infrastructure.Telemetry;

namespace Chat.Infrastructure.Tests;

/// <summary>A telemetry instance with its own meters, so parallel tests never see each other's measurements.</summary>
internal static class TestTelemetry
{
    public static ChatTelemetry Create(IMeterFactory? meters = null) => new(meters ?? new TestMeterFactory(), new ConnectionRegistry(Microsoft.Extensions.Options.Options.Create(new Chat.Application.Common.ChatOptions()), TimeProvider.System));
}

internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (var meter in meters)
        {
            meter.Dispose();
        }
    }
}
