using Microsoft.Playwright;

namespace Chat.Testing;

/// <summary>
/// Debian's Chromium (CHROMIUM_PATH or /usr/bin/chromium, installed with apt; never a downloaded browser), headless,
/// as every browser test here launches it. Shared by test projects as a linked file, like <c>PostgresServer</c>.
/// </summary>
internal static class DebianChromium
{
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        ArgumentNullException.ThrowIfNull(playwright);
        var executable = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromium";
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Chromium not found at {executable}: install it with 'apt-get install chromium' or set CHROMIUM_PATH.");
        }

        return playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
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
    }
}
