using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.AppHost.Tests.Dashboard;

/// <summary>
/// The Aspire dashboard as a person sees it, in Debian's Chromium: signed in with the login URL the AppHost gives, it
/// shows api and web running, and after one chat message Chat's own metric and its <c>chat.send</c> span, both exported
/// by api to the dashboard's OTLP endpoint. Screenshots of each page go to artifacts/screenshots/dashboard-*.png.
/// </summary>
public sealed class DashboardBrowserTests(DashboardAppHost services) : IClassFixture<DashboardAppHost>
{
    private const string Room = "dashboard";

    [Fact]
    public async Task A_signed_in_person_sees_api_and_web_running_then_the_message_in_metrics_and_traces()
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"AppHost with dashboard started in {services.StartedIn.TotalSeconds:F1} s");
        await using var context = await services.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
        });
        var page = await context.NewPageAsync();

        // The login URL carries the token: the dashboard signs the browser in and lands on the resources page.
        await page.GotoAsync(services.LoginUrl.ToString());
        await Expect(page).ToHaveTitleAsync("Chat resources");
        foreach (var resource in new[] { "api", "web" })
        {
            var row = page.GetByRole(AriaRole.Row).Filter(new LocatorFilterOptions
            {
                Has = page.GetByRole(AriaRole.Gridcell, new() { Name = $"Project: {resource}", Exact = true }),
            });
            await Expect(row.GetByRole(AriaRole.Gridcell, new() { Name = "Running", Exact = true })).ToBeVisibleAsync();
        }

        await ScreenshotAsync(page, "dashboard-resources");

        await SendOneMessageAsync();
        var dashboard = new Uri(services.LoginUrl.GetLeftPart(UriPartial.Authority));

        // The instrument's description and its count (one text frame) come from api's Chat meter, through OTLP.
        await page.GotoAsync(new Uri(dashboard, "/metrics/resource/api?meter=Chat&instrument=chat.messages.received&view=Table").ToString());
        // Opened before the instrument's first export, the page shows the meter's overview instead: hence the reloads.
        await ExpectVisibleReloadingAsync(page, page.GetByRole(AriaRole.Gridcell, new() { Name = "1", Exact = true }));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "chat.messages.received", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByText("Text frames received from clients.", new() { Exact = true })).ToBeVisibleAsync();
        var instruments = page.GetByLabel("Instrument", new() { Exact = true });
        await Expect(instruments.GetByTitle("Chat", new() { Exact = true }).GetByTitle("chat.messages.received", new() { Exact = true }))
            .ToBeVisibleAsync();
        await ScreenshotAsync(page, "dashboard-metrics");

        // The traces list names a trace by its root span (web's request); the filter keeps traces holding a chat.send span.
        await page.GotoAsync(new Uri(dashboard, "/traces?filters=" + Uri.EscapeDataString("trace.name:equals:chat.send")).ToString());
        var trace = page.GetByRole(AriaRole.Gridcell, new() { NameRegex = new Regex(@"^Name: web: GET \/ws\/") });
        await ExpectVisibleReloadingAsync(page, trace);
        await Expect(trace).ToHaveCountAsync(1);
        await ScreenshotAsync(page, "dashboard-traces");

        // In the trace itself: api's chat.send span, and its attributes name the room the message went to.
        await trace.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/traces/detail/[0-9a-f]{32}"));
        var send = page.GetByRole(AriaRole.Gridcell, new() { Name = "api: chat.send", Exact = true });
        await Expect(send).ToBeVisibleAsync();
        await send.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { NameRegex = new Regex("^api: chat\\.send") })).ToBeVisibleAsync();
        var room = page.GetByRole(AriaRole.Row).Filter(new LocatorFilterOptions { Has = page.GetByTitle("chat.room", new() { Exact = true }) });
        await Expect(room.GetByTitle(Room, new() { Exact = true })).ToBeVisibleAsync();
        await ScreenshotAsync(page, "dashboard-trace");
    }

    /// <summary>One message through web, as the page would send it; closing the socket ends (and exports) its trace.</summary>
    private async Task SendOneMessageAsync()
    {
        await using var alice = await ChatClient.ConnectAsync(services.WebAddress, "alice", Room, services.WebOrigin);
        await alice.NextEventAsync("user_joined");
        await alice.SendMessageAsync("hello, dashboard");
        await alice.NextEventAsync("chat_message");
        await alice.CloseAsync();
    }

    /// <summary>
    /// Telemetry is exported every second; a page opened before it arrived may not pick it up, so it is reloaded,
    /// for at most about 30 s.
    /// </summary>
    private static async Task ExpectVisibleReloadingAsync(IPage page, ILocator locator)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Expect(locator).ToBeVisibleAsync(new() { Timeout = 5_000 });
                return;
            }
            catch (PlaywrightException) when (attempt < 6)
            {
                await page.ReloadAsync();
            }
        }
    }

    private static async Task ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "artifacts", "screenshots", name + ".png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Current.TestOutputHelper?.WriteLine($"screenshot: {path}");
    }
}
