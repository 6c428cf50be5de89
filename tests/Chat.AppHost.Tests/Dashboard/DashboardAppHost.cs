using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Chat.Testing;
using Microsoft.Playwright;

namespace Chat.AppHost.Tests.Dashboard;

/// <summary>
/// The real Chat.AppHost with its dashboard on, and one headless Debian Chromium to look at it. Unlike
/// <see cref="ChatAppHost"/>, the telemetry is left as the AppHost wires it: api and web export to the dashboard's own
/// OTLP endpoint, so what the browser shows is what a developer running the AppHost would see.
/// </summary>
public sealed class DashboardAppHost : IAsyncLifetime
{
    private readonly string historyFolder = Directory.CreateTempSubdirectory("chat-dashboard-tests-").FullName;

    /// <summary>DCP, the dashboard, then api and web, cold, on a busy two-core machine.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(150);

    private DistributedApplication? app;
    private IPlaywright? playwright;

    /// <summary>The dashboard's login URL, token included; opening it signs a browser in.</summary>
    public Uri LoginUrl { get; private set; } = null!;

    public Uri WebAddress { get; private set; } = null!;

    public string WebOrigin => WebAddress.GetLeftPart(UriPartial.Authority);

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>How long the AppHost took from creation until the dashboard, api and web were healthy.</summary>
    public TimeSpan StartedIn { get; private set; }

    public async ValueTask InitializeAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(StartTimeout);
        var cancellationToken = timeout.Token;
        var clock = Stopwatch.StartNew();

        var options = new DistributedApplicationTestingBuilderOptions { EnableDashboard = true };
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Chat_AppHost>(options, [], cancellationToken);
        ChatAppHost.KeepHistoryIn(builder, historyFolder);
        app = await builder.BuildAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        LoginUrl = await app.GetDashboardUrlAsync(cancellationToken);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("api", cancellationToken);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("web", cancellationToken);
        StartedIn = clock.Elapsed;
        WebAddress = app.GetEndpoint("web", "http");

        playwright = await Playwright.CreateAsync();
        Browser = await DebianChromium.LaunchAsync(playwright);
        Assertions.SetDefaultExpectTimeout(15_000);
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        playwright?.Dispose();
        if (app is not null)
        {
            await app.DisposeAsync();
        }

        Directory.Delete(historyFolder, recursive: true);
    }
}
