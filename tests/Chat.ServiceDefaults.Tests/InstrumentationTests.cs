using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Chat.ServiceDefaults.Tests;

public sealed class InstrumentationTests
{
    [Fact]
    public async Task Health_probes_are_not_traced_but_other_requests_are()
    {
        var activities = new List<Activity>();
        var builder = LoopbackApp.CreateBuilder();
        builder.AddServiceDefaults();
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(activities));
        await using var app = builder.Build();
        app.MapDefaultEndpoints(healthResponseWriter: (context, _) => context.Response.WriteAsync("ok"));
        app.MapGet("/hello", () => "hello");

        using (var client = await app.StartOnLoopbackAsync())
        {
            foreach (var path in new[] { "/alive", "/ready", "/health", "/hello" })
            {
                using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
                response.EnsureSuccessStatusCode();
            }
        }

        // Stopping waits for in-flight requests, so every server span has ended and been exported.
        await app.StopAsync(TestContext.Current.CancellationToken);
        var tracedPaths = activities.Where(a => a.Kind == ActivityKind.Server).Select(a => a.GetTagItem("url.path"));
        Assert.Equal(["/hello"], tracedPaths);
    }

    [Fact]
    public async Task The_applications_meter_and_source_are_collected_and_a_service_can_add_its_own()
    {
        const string ApplicationName = "Chat.ServiceDefaults.Sample";
        const string ServiceAddedName = "Chat.ServiceDefaults.Sample.Extra";
        var metrics = new List<Metric>();
        var activities = new List<Activity>();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = ApplicationName,
            EnvironmentName = Environments.Production,
        });
        builder.AddServiceDefaults();
        builder.Services.AddOpenTelemetry()
            .WithMetrics(m => m.AddMeter(ServiceAddedName).AddInMemoryExporter(metrics))
            .WithTracing(t => t.AddSource(ServiceAddedName).AddInMemoryExporter(activities));
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);

        using var applicationMeter = new Meter(ApplicationName);
        using var serviceAddedMeter = new Meter(ServiceAddedName);
        applicationMeter.CreateCounter<long>("sample.application").Add(1);
        serviceAddedMeter.CreateCounter<long>("sample.service_added").Add(1);
        using var applicationSource = new ActivitySource(ApplicationName);
        using var serviceAddedSource = new ActivitySource(ServiceAddedName);
        applicationSource.StartActivity("application span")?.Dispose();
        serviceAddedSource.StartActivity("service-added span")?.Dispose();
        host.Services.GetRequiredService<MeterProvider>().ForceFlush();
        host.Services.GetRequiredService<TracerProvider>().ForceFlush();

        Assert.Contains(metrics, m => m.Name == "sample.application");
        Assert.Contains(metrics, m => m.Name == "sample.service_added");
        Assert.Contains(activities, a => a.DisplayName == "application span");
        Assert.Contains(activities, a => a.DisplayName == "service-added span");
        await host.StopAsync(TestContext.Current.CancellationToken);
    }
}
