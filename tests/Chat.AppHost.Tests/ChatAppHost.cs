using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Chat.AppHost.Tests.Otlp;

namespace Chat.AppHost.Tests;

/// <summary>
/// The real Chat.AppHost, started through Aspire.Hosting.Testing: DCP runs api and web as processes, with the
/// environment the AppHost gives them. Only their OTLP endpoint is changed, to a receiver in the test, since the testing
/// builder runs no dashboard to receive telemetry; everything else (ports, origins, service discovery) is the AppHost's.
/// </summary>
public sealed class ChatAppHost : IAsyncLifetime
{
    /// <summary>DCP, then api, then web (which waits for api to be healthy), cold, on a busy two-core machine.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    // api's history for this run only: the AppHost's default file would keep what earlier runs said.
    private readonly string historyFolder = Directory.CreateTempSubdirectory("chat-apphost-tests-").FullName;
    private DistributedApplication? app;
    private OtlpReceiver? receiver;

    public DistributedApplication App => app ?? throw new InvalidOperationException("Not started.");

    /// <summary>Web's address as DCP serves it: what a browser opens, and the Origin its pages send.</summary>
    public Uri WebAddress { get; private set; } = null!;

    public string WebOrigin => WebAddress.GetLeftPart(UriPartial.Authority);

    internal OtlpReceiver Receiver => receiver ?? throw new InvalidOperationException("Not started.");

    /// <summary>How long the AppHost took from creation until api and web were healthy.</summary>
    public TimeSpan StartedIn { get; private set; }

    public async ValueTask InitializeAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(StartTimeout);
        var cancellationToken = timeout.Token;
        var clock = System.Diagnostics.Stopwatch.StartNew();

        receiver = await OtlpReceiver.StartAsync(cancellationToken);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Chat_AppHost>(cancellationToken);
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            // Added after the AppHost's own OTLP callback, so these values win over its dashboard address.
            builder.CreateResourceBuilder(project).WithEnvironment(context =>
            {
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint.ToString();
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                context.EnvironmentVariables["OTEL_BSP_SCHEDULE_DELAY"] = "1000";
                context.EnvironmentVariables["OTEL_BLRP_SCHEDULE_DELAY"] = "1000";
                context.EnvironmentVariables["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
            });
        }

        KeepHistoryIn(builder, historyFolder);

        app = await builder.BuildAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("api", cancellationToken);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("web", cancellationToken);
        StartedIn = clock.Elapsed;
        WebAddress = app.GetEndpoint("web", "http");
    }

    /// <summary>api's history in a folder of the test's: the AppHost's default file would keep what earlier runs said.</summary>
    internal static void KeepHistoryIn(IDistributedApplicationTestingBuilder builder, string folder)
    {
        var api = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api");
        builder.CreateResourceBuilder(api).WithEnvironment("Chat__History__Path", Path.Combine(folder, "chat.db"));
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }

        if (receiver is not null)
        {
            await receiver.DisposeAsync();
        }

        Directory.Delete(historyFolder, recursive: true);
    }
}
