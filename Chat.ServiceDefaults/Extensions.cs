using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every Chat service shares: OpenTelemetry, health checks, service discovery and resilient outgoing HTTP.
/// Each service calls <see cref="AddServiceDefaults{TBuilder}"/> on its builder and
/// <see cref="MapDefaultEndpoints"/> on its app.
/// </summary>
public static class Extensions
{
    /// <summary>Liveness probe: runs only the checks tagged <see cref="LiveTag"/>.</summary>
    public const string AlivePath = "/alive";

    /// <summary>Readiness probe: runs every registered check.</summary>
    public const string ReadyPath = "/ready";

    /// <summary>The service's own health report, mapped only when it supplies a response writer.</summary>
    public const string HealthPath = "/health";

    /// <summary>Tag of the checks that say whether the process itself is alive.</summary>
    public const string LiveTag = "live";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        // The OTLP exporter retries by itself; the standard handler on top would retry its retries, log every
        // attempt (which is exported in turn) and, with its circuit open, throw where the exporter expects none.
#pragma warning disable EXTEXP0001 // Experimental, but it is the library's own way to exempt one client from the defaults.
        foreach (var exporterClient in (string[])["OtlpTraceExporter", "OtlpMetricExporter", "OtlpLogExporter"])
        {
            builder.Services.AddHttpClient(exporterClient).RemoveAllResilienceHandlers();
        }
#pragma warning restore EXTEXP0001

        return builder;
    }

    /// <summary>
    /// Logs, metrics and traces through OpenTelemetry. The meter and activity source named after the application
    /// (<see cref="IHostEnvironment.ApplicationName"/>, e.g. <c>Chat.Api</c>) are collected; a service adds others with
    /// <c>builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(name)).WithTracing(t => t.AddSource(name))</c>.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var applicationName = builder.Environment.ApplicationName;
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(applicationName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation())
            .WithTracing(tracing => tracing
                .AddSource(applicationName)
                // Probes arrive every few seconds from the orchestrator; tracing them would bury real requests.
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsProbe(context.Request.Path))
                .AddHttpClientInstrumentation());

        // Aspire sets the endpoint in run mode; elsewhere there is no collector to send to unless someone configures one.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);

        return builder;
    }

    /// <summary>
    /// Maps <c>/alive</c> and <c>/ready</c> in every environment: they answer only Healthy, Degraded or Unhealthy,
    /// never check details. <c>/health</c> is the service's own contract: pass <paramref name="healthResponseWriter"/>
    /// to map it over every check with that writer, or leave it null and map <c>/health</c> yourself.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(
        this WebApplication app, Func<HttpContext, HealthReport, Task>? healthResponseWriter = null)
    {
        ArgumentNullException.ThrowIfNull(app);

        app.MapHealthChecks(AlivePath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });
        app.MapHealthChecks(ReadyPath);

        if (healthResponseWriter is not null)
        {
            app.MapHealthChecks(HealthPath, new HealthCheckOptions { ResponseWriter = healthResponseWriter });
        }

        return app;
    }

    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments(AlivePath) || path.StartsWithSegments(ReadyPath) || path.StartsWithSegments(HealthPath);
}
