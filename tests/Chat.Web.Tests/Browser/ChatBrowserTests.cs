using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests.Browser;

/// <summary>People chatting in real Chromium through the real Chat.Web and Chat.Api.</summary>
public sealed class ChatBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private readonly List<ChatPage> pages = [];
    private ChatServers servers = null!;

    public ValueTask InitializeAsync()
    {
        servers = ChatServers.Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var page in pages)
        {
            await page.CloseAsync();
        }

        await servers.DisposeAsync();
    }

    [Fact]
    public async Task Two_people_chat_both_ways_and_see_who_comes_and_goes()
    {
        var alice = await OpenAsync("both-ways");
        await alice.JoinAsync("alice");
        await Expect(alice.OnlineNames).ToHaveTextAsync(["alice (you)"]);

        var bob = await OpenAsync("both-ways");
        await bob.JoinAsync("bob");

        await Expect(alice.Notice("bob joined the chat")).ToBeVisibleAsync();
        await Expect(alice.OnlineCount).ToHaveTextAsync("2");
        await Expect(bob.OnlineCount).ToHaveTextAsync("2");
        await Expect(bob.OnlineNames).ToHaveTextAsync(["alice", "bob (you)"]);

        await alice.SendAsync("Hi Bob!");
        await Expect(bob.Message("Hi Bob!").Locator(".sender")).ToHaveTextAsync("alice");
        await Expect(alice.Message("Hi Bob!")).ToHaveClassAsync("message own");
        await Expect(bob.Message("Hi Bob!")).ToHaveClassAsync("message");
        await Expect(bob.Message("Hi Bob!").Locator("time")).ToHaveTextAsync(new Regex(@"\d"));

        await bob.MessageInput.FillAsync("Hello Alice,");
        await bob.MessageInput.PressAsync("Shift+Enter");
        await bob.MessageInput.PressSequentiallyAsync("two lines.");
        await bob.MessageInput.PressAsync("Enter");
        await Expect(alice.Message("Hello Alice,\ntwo lines.").Locator(".sender")).ToHaveTextAsync("bob");
        await Expect(bob.MessageInput).ToHaveValueAsync("");

        await alice.ScreenshotAsync("desktop-chat");

        await bob.Page.Locator("#leave-button").ClickAsync();
        await Expect(bob.Page.Locator("#join-screen")).ToBeVisibleAsync();
        await Expect(alice.Notice("bob left the chat")).ToBeVisibleAsync();
        await Expect(alice.OnlineNames).ToHaveTextAsync(["alice (you)"]);
        await Expect(alice.OnlineCount).ToHaveTextAsync("1");

        Assert.Empty(alice.Problems);
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task Markup_in_a_message_is_shown_as_text_and_runs_nothing()
    {
        const string Attack = "<img src=x onerror=alert(1)>";
        var alice = await OpenAsync("markup");
        await alice.JoinAsync("alice");
        var bob = await OpenAsync("markup");
        await bob.JoinAsync("<b>bob");

        await bob.SendAsync(Attack);

        await Expect(alice.Message(Attack)).ToBeVisibleAsync();
        await Expect(alice.Message(Attack).Locator(".sender")).ToHaveTextAsync("<b>bob");
        await Expect(alice.OnlineNames.Nth(1)).ToHaveTextAsync("<b>bob");
        await Expect(alice.Page.Locator("#messages img, #messages b, #people-list b")).ToHaveCountAsync(0);
        // A round trip after the message: had the markup run, its error handler would have fired by now.
        await alice.SendAsync("after");
        await Expect(bob.Message("after")).ToBeVisibleAsync();
        Assert.Empty(alice.Problems);
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task A_policy_of_connect_src_self_lets_the_page_chat_and_blocks_sockets_to_other_origins()
    {
        var alice = await OpenAsync("policy");
        Assert.Contains("connect-src 'self';", alice.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.DoesNotContain("ws:", alice.ContentSecurityPolicy, StringComparison.Ordinal);
        await alice.JoinAsync("alice");
        var bob = await OpenAsync("policy");
        await bob.JoinAsync("bob");

        await alice.SendAsync("over a same-origin socket");
        await Expect(bob.Message("over a same-origin socket")).ToBeVisibleAsync();
        Assert.Empty(alice.Problems);
        Assert.Empty(bob.Problems);

        // The same server under another name is another origin: 'self' must not let the page reach it.
        var elsewhere = new UriBuilder(servers.Web.Address) { Scheme = "ws", Host = "localhost", Path = "/ws/mallory" }.Uri;
        var violation = "";
        var logged = await alice.Page.RunAndWaitForConsoleMessageAsync(
            async () => violation = await alice.Page.EvaluateAsync<string>(
                """
                (url) => new Promise((resolve) => {
                  document.addEventListener('securitypolicyviolation', (e) => resolve(`${e.effectiveDirective} ${e.blockedURI}`), { once: true });
                  setTimeout(() => resolve('no violation within 10 s'), 10000);
                  try { new WebSocket(url); } catch { }
                })
                """,
                elsewhere.ToString()),
            new() { Predicate = m => m.Text.Contains("Content Security Policy", StringComparison.Ordinal), Timeout = 15_000 });

        Assert.StartsWith($"connect-src ws://localhost:{elsewhere.Port}", violation, StringComparison.Ordinal);
        // A violation is a console error, so it lands in the problems every other test asserts empty.
        Assert.Equal("error", logged.Type);
        Assert.Contains(alice.Problems, p => p.Contains("Content Security Policy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_name_of_21_characters_is_refused_with_a_visible_message()
    {
        var page = await OpenAsync("long-name");

        await page.TryJoinAsync(new string('a', 21));

        await Expect(page.JoinError).ToBeVisibleAsync();
        await Expect(page.JoinError).ToHaveTextAsync("User name must be at most 20 characters.");
        await Expect(page.Page.Locator("#rule-length")).ToHaveAttributeAsync("data-state", "bad");
        await Expect(page.Page.Locator("#chat-screen")).ToBeHiddenAsync();

        await page.TryJoinAsync(new string('a', 20));
        await page.ExpectConnectedAsync();
    }

    [Fact]
    public async Task A_name_the_server_refuses_is_shown_and_not_retried()
    {
        var first = await OpenAsync("taken");
        await first.JoinAsync("carol");
        var second = await OpenAsync("taken");

        await second.TryJoinAsync("CAROL");

        await Expect(second.JoinError).ToHaveTextAsync(new Regex("already taken"));
        await Expect(second.Page.Locator("#chat-screen")).ToBeHiddenAsync();
        await Expect(second.Page.Locator("#join-button")).ToBeEnabledAsync();
        await Expect(first.OnlineCount).ToHaveTextAsync("1");
    }

    [Fact]
    public async Task The_page_reconnects_by_itself_after_the_api_restarts_and_the_chat_goes_on()
    {
        var alice = await OpenAsync("restart");
        await alice.JoinAsync("alice");
        var bob = await OpenAsync("restart");
        await bob.JoinAsync("bob");
        await Expect(alice.OnlineCount).ToHaveTextAsync("2");

        await servers.StopApiAsync();

        await Expect(alice.Connection).ToHaveAttributeAsync("data-state", new Regex("reconnecting|offline"));
        await Expect(alice.Page.Locator("#connection-text")).ToHaveTextAsync(new Regex(@"Reconnect"));
        await alice.SendAsync("typed while the server was down");
        await Expect(alice.Page.Locator("#messages .pending .text")).ToHaveTextAsync("typed while the server was down");

        servers.StartApi();

        await Expect(alice.Connection).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 45_000 });
        await Expect(bob.Connection).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 45_000 });
        // The queued message went out on rejoin and the server echoed it back (bob sees it only if he was back first).
        await Expect(alice.Message("typed while the server was down")).ToHaveClassAsync("message own");
        await Expect(alice.Page.Locator("#messages .pending")).ToHaveCountAsync(0);
        await Expect(alice.OnlineCount).ToHaveTextAsync("2");
        await Expect(bob.OnlineCount).ToHaveTextAsync("2");

        await alice.SendAsync("are you back?");
        await Expect(bob.Message("are you back?")).ToBeVisibleAsync();
        await bob.SendAsync("welcome back");
        await Expect(alice.Message("welcome back")).ToBeVisibleAsync();
        // The browser logs each refused reconnection attempt; anything else would be a problem.
        Assert.DoesNotContain(alice.Problems, p => !p.Contains("WebSocket", StringComparison.Ordinal));
    }

    [Fact]
    public async Task At_phone_width_nothing_scrolls_sideways_and_the_message_box_stays_visible()
    {
        var phone = await OpenAsync("phone", width: 360, height: 740);
        await phone.ScreenshotAsync("phone-join");
        await phone.JoinAsync("dana_with_a_long_nm");
        var friend = await OpenAsync("phone");
        await friend.JoinAsync("erin");

        await friend.SendAsync(new string('w', 300));
        await friend.SendAsync("A longer message that wraps over several lines on a narrow phone screen, as messages do.");
        for (var i = 1; i <= 12; i++)
        {
            await friend.SendAsync($"message {i}");
        }

        await phone.SendAsync("Sent from the phone");
        await Expect(phone.Message("Sent from the phone")).ToBeVisibleAsync();
        await Expect(phone.Message("message 12")).ToBeInViewportAsync();

        var widths = await phone.Page.EvaluateAsync<int[]>(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]");
        Assert.True(widths[0] <= widths[1] && widths[2] <= widths[1], $"scrollWidth {widths[0]}/{widths[2]} > clientWidth {widths[1]}");
        await Expect(phone.MessageInput).ToBeInViewportAsync(new() { Ratio = 1 });
        await Expect(phone.Page.Locator("#send-button")).ToBeInViewportAsync(new() { Ratio = 1 });
        await Expect(phone.Page.Locator("#leave-button")).ToBeInViewportAsync(new() { Ratio = 1 });
        await phone.ScreenshotAsync("phone-chat");

        await phone.Page.Locator("#people-toggle").ClickAsync();
        await Expect(phone.Page.Locator("#people")).ToBeVisibleAsync();
        await Expect(phone.OnlineNames).ToHaveTextAsync(["dana_with_a_long_nm (you)", "erin"]);
        await phone.ScreenshotAsync("phone-people");
        Assert.Empty(phone.Problems);
    }

    [Fact]
    public async Task A_rejoin_refused_while_the_lost_session_still_holds_the_name_is_retried_until_it_is_free()
    {
        var alice = await OpenAsync("held");
        await alice.JoinAsync("alice");
        await servers.StopApiAsync();
        // Let the backoff grow until the next attempt is seconds away, so the name can be taken before it.
        await Expect(alice.Page.Locator("#connection-text")).ToHaveTextAsync(new Regex(@"in ([4-9]|\d\d) s"), new() { Timeout = 30_000 });

        servers.StartApi();
        var holder = await HoldNameAsync("alice", "held");

        await Expect(alice.Page.Locator("#connection-text")).ToHaveTextAsync(new Regex("Name still held"), new() { Timeout = 30_000 });
        await Expect(alice.Page.Locator("#chat-screen")).ToBeVisibleAsync();

        await holder.CloseAsync(WebSocketCloseStatus.NormalClosure, null, Cancellation);
        holder.Dispose();
        await WaitUntilRoomIsEmptyAsync("held");
        await alice.Page.Locator("#retry-button").ClickAsync();

        await alice.ExpectConnectedAsync();
        await Expect(alice.OnlineNames).ToHaveTextAsync(["alice (you)"]);
        await Expect(alice.JoinError).ToBeHiddenAsync();
    }

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>A plain WebSocket client that joins under a name and keeps it.</summary>
    private async Task<ClientWebSocket> HoldNameAsync(string name, string room)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Origin", servers.Web.Origin);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var address = new UriBuilder(servers.Web.Address) { Scheme = "ws", Path = "/ws/" + name, Query = "room=" + room }.Uri;
        await socket.ConnectAsync(address, timeout.Token);
        var buffer = new byte[4096];
        var first = await socket.ReceiveAsync(buffer, timeout.Token);
        Assert.Contains("\"user_joined\"", Encoding.UTF8.GetString(buffer, 0, first.Count), StringComparison.Ordinal);
        return socket;
    }

    private async Task WaitUntilRoomIsEmptyAsync(string room)
    {
        using var client = servers.Web.CreateRawClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        do
        {
            using var response = await client.GetAsync($"/room/{room}/stats", timeout.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return;
            }

            using var stats = JsonDocument.Parse(await response.Content.ReadAsStringAsync(timeout.Token));
            if (stats.RootElement.GetProperty("user_count").GetInt32() == 0)
            {
                return;
            }
        }
        while (await poll.WaitForNextTickAsync(timeout.Token));
    }

    private async Task<ChatPage> OpenAsync(string room, int width = 1280, int height = 800)
    {
        var page = await ChatPage.OpenAsync(browser.Browser, servers.Web.Address, room, width, height);
        pages.Add(page);
        return page;
    }
}
