using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests.Browser;

/// <summary>One person's tab: what they do on the page and what they can see, plus anything the page complained about.</summary>
public sealed class ChatPage
{
    private readonly List<string> problems = [];

    private ChatPage(IPage page)
    {
        Page = page;
        page.SetDefaultTimeout(15_000);
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                problems.Add($"console {message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, error) => problems.Add($"page error: {error}");
        page.Dialog += (_, dialog) =>
        {
            problems.Add($"dialog {dialog.Type}: {dialog.Message}");
            _ = dialog.DismissAsync();
        };
    }

    public IPage Page { get; }

    /// <summary>Console errors (a CSP violation is one), uncaught exceptions and dialogs seen so far.</summary>
    public IReadOnlyList<string> Problems => problems;

    public ILocator Connection => Page.Locator("#connection");

    public ILocator Messages => Page.Locator("#messages");

    public ILocator JoinError => Page.Locator("#join-error");

    public ILocator MessageInput => Page.Locator("#message-input");

    public ILocator OnlineCount => Page.Locator("#people-count");

    public ILocator OnlineNames => Page.Locator("#people-list li");

    /// <summary>The Content-Security-Policy the page was served with.</summary>
    public string? ContentSecurityPolicy { get; private set; }

    public static async Task<ChatPage> OpenAsync(
        IBrowser browser, Uri site, string room, int width = 1280, int height = 800, ReducedMotion motion = ReducedMotion.Reduce)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ReducedMotion = motion,
        });
        var page = new ChatPage(await context.NewPageAsync());
        var response = await page.Page.GotoAsync(new Uri(site, $"/?room={room}").ToString());
        page.ContentSecurityPolicy = response is null ? null : await response.HeaderValueAsync("content-security-policy");
        return page;
    }

    public async Task TryJoinAsync(string name)
    {
        await Page.Locator("#name-input").FillAsync(name);
        await Page.Locator("#join-button").ClickAsync();
    }

    public async Task JoinAsync(string name)
    {
        await TryJoinAsync(name);
        await ExpectConnectedAsync();
    }

    public Task ExpectConnectedAsync() => Expect(Connection).ToHaveAttributeAsync("data-state", "connected");

    public async Task SendAsync(string text)
    {
        await MessageInput.FillAsync(text);
        await MessageInput.PressAsync("Enter");
    }

    /// <summary>A delivered message (pending ones are excluded) whose text is exactly this.</summary>
    public ILocator Message(string text) =>
        Page.Locator("#messages .message:not(.pending)").Filter(new LocatorFilterOptions { Has = Page.Locator(".text").GetByText(text, new() { Exact = true }) });

    /// <summary>The texts of the delivered messages, top to bottom.</summary>
    public ILocator MessageTexts => Page.Locator("#messages .message:not(.pending) .text");

    /// <summary>"alice is typing…" and the like; empty when nobody is.</summary>
    public ILocator Typing => Page.Locator("#typing");

    /// <summary>The polite live region that announces new messages from others.</summary>
    public ILocator Announcer => Page.Locator("#announcer");

    public ILocator RoomLinks => Page.Locator("#rooms-list a");

    public ILocator RoomLink(string room) => Page.Locator($"#rooms-list a[data-room='{room}']");

    public ILocator CurrentRoom => Page.Locator("#chat-room");

    /// <summary>
    /// Makes the page believe its tab went to the background or came back: document.visibilityState and
    /// document.hidden report it and a visibilitychange event fires, as when a person switches tabs (headless Chromium
    /// has no tab strip to switch).
    /// </summary>
    public Task SetHiddenAsync(bool hidden) => Page.EvaluateAsync(
        """
        (hidden) => {
          Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => hidden ? 'hidden' : 'visible' });
          Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
          document.dispatchEvent(new Event('visibilitychange'));
        }
        """,
        hidden);

    public ILocator Notice(string text) => Page.Locator("#messages .notice").GetByText(text, new() { Exact = true });

    public async Task<string> ScreenshotAsync(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "artifacts", "screenshots", name + ".png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        TestContext.Current.TestOutputHelper?.WriteLine($"screenshot: {path}");
        Console.WriteLine($"screenshot: {path}");
        return path;
    }

    public async Task CloseAsync() => await Page.Context.CloseAsync();
}
