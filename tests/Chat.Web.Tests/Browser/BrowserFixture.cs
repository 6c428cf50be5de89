using Chat.Testing;
using Microsoft.Playwright;

namespace Chat.Web.Tests.Browser;

/// <summary>
/// One headless Debian Chromium for the browser tests, driven by Playwright (never downloaded: CHROMIUM_PATH or
/// /usr/bin/chromium, installed with apt).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
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
    }
}
