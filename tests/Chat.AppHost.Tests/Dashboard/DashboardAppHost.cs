using Aspire.Hosting.ApplicationModel;
using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
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
        var executable = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromium";
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Chromium not found at {executable}: install it with 'apt-get install chromium' or set CHROMIUM_PATH.");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(StartTimeout);
        var cancellationToken = timeout.Token;
        var clock = Stopwatch.StartNew();

        var options = new DistributedApplicationTestingBuilderOptions { EnableDashboard = true };
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Chat_AppHost>(options, [], cancellationToken);
        // api's history for this run only, as in ChatAppHost.
        var api = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api");
        builder.CreateResourceBuilder(api).WithEnvironment("Chat__History__Path", Path.Combine(historyFolder, "chat.db"));
        app = await builder.BuildAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        LoginUrl = await app.GetDashboardUrlAsync(cancellationToken);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("api", cancellationToken);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("web", cancellationToken);
        StartedIn = clock.Elapsed;
        WebAddress = app.GetEndpoint("web", "http");

        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Timeout = 60_000,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run",
            ],
        });
        Assertions.SetDefaultExpectTimeout(15_000);
    }

    public async ValueTask DisposeAsync()
    {
        using var cleanup = new HistoryFolderCleanup(historyFolder);
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        playwright?.Dispose();
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }
}

/// <summary>Deletes the folder last, once the app that wrote there is gone.</summary>
internal readonly struct HistoryFolderCleanup(string folder) : IDisposable
{
    public void Dispose() => Directory.Delete(folder, recursive: true);
}
