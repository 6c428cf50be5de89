using System.Net.WebSockets;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests.Browser;

/// <summary>History on join and resume after a drop, in real Chromium through the real Chat.Web and Chat.Api.</summary>
public sealed class HistoryBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncDisposable
{
    private readonly List<ChatPage> pages = [];
    private ChatServers? servers;

    public async ValueTask DisposeAsync()
    {
        foreach (var page in pages)
        {
            await page.CloseAsync();
        }

        if (servers is not null)
        {
            await servers.DisposeAsync();
        }
    }

    [Fact]
    public async Task Messages_sent_while_a_peer_was_cut_off_reach_it_once_and_in_order_when_it_is_back()
    {
        Start();
        var (alice, bob, cable) = await AliceAndBobOnACableAsync("away");
        await alice.SendAsync("before");
        await Expect(bob.Message("before")).ToBeVisibleAsync();

        await cable.CutAsync();
        await Expect(bob.Connection).ToHaveAttributeAsync("data-state", new Regex("reconnecting|offline"));
        await alice.SendAsync("while away 1");
        await alice.SendAsync("while away 2");
        await Expect(alice.Message("while away 2")).ToBeVisibleAsync();
        // Down for a few seconds: the page tries three times and finds no network.
        await cable.RefusedAsync(3);
        cable.Restore();

        await Expect(bob.Connection).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 45_000 });
        await alice.SendAsync("after");
        await Expect(bob.MessageTexts).ToHaveTextAsync(["before", "while away 1", "while away 2", "after"]);
        await Expect(bob.Page.Locator("#messages .divider + .message .text")).ToHaveTextAsync("while away 1");
        // The server never saw the cut: the page took its session back with its token, so the room heard no leave.
        await Expect(alice.Notice("bob left the chat")).ToHaveCountAsync(0);
        await Expect(alice.OnlineCount).ToHaveTextAsync("2");
        Assert.Empty(alice.Problems);
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task History_shows_once_after_a_reload_above_the_join_notice_after_a_divider()
    {
        Start();
        var alice = await OpenAsync("reload");
        await alice.JoinAsync("alice");
        foreach (var text in new[] { "one", "two", "<b>three</b>" })
        {
            await alice.SendAsync(text);
        }

        await Expect(alice.MessageTexts).ToHaveTextAsync(["one", "two", "<b>three</b>"]);

        await alice.Page.ReloadAsync();
        await alice.JoinAsync("alice");

        await Expect(alice.MessageTexts).ToHaveTextAsync(["one", "two", "<b>three</b>"]);
        await Expect(alice.Page.Locator("#messages .divider")).ToHaveTextAsync("Earlier messages");
        await Expect(alice.Page.Locator("#messages .pending")).ToHaveCountAsync(0);
        await alice.SendAsync("four");
        await Expect(alice.MessageTexts).ToHaveTextAsync(["one", "two", "<b>three</b>", "four"]);
        var kinds = await alice.Page.Locator("#messages > li").EvaluateAllAsync<string[]>("items => items.map(i => i.className)");
        Assert.Equal(["divider", "day", "message own", "message own", "message own", "notice join", "message own"], kinds);
        await Expect(alice.Page.Locator("#messages .day")).ToHaveTextAsync(new Regex("^(Today|Yesterday)$"));
        await Expect(alice.Page.Locator("#messages b")).ToHaveCountAsync(0);
        // History is not read out: the log itself is not live, and the live region announces no history (nor her own).
        await Expect(alice.Messages).ToHaveAttributeAsync("aria-live", "off");
        await Expect(alice.Page.Locator("#announcer")).ToBeEmptyAsync();
        Assert.Empty(alice.Problems);
    }

    [Fact]
    public async Task When_too_much_was_missed_the_latest_messages_overlap_what_is_shown_and_none_shows_twice()
    {
        // Missing three messages is past MaxResume, so the server sends the latest 50 instead, which overlap.
        Start(new Dictionary<string, string> { ["Chat:History:MaxResume"] = "2" });
        var (alice, bob, cable) = await AliceAndBobOnACableAsync("overlap");
        await alice.SendAsync("m1");
        await Expect(bob.Message("m1")).ToBeVisibleAsync();

        await cable.CutAsync();
        foreach (var text in new[] { "m2", "m3", "m4" })
        {
            await alice.SendAsync(text);
        }

        await Expect(alice.Message("m4")).ToBeVisibleAsync();
        await cable.RefusedAsync(1);
        cable.Restore();

        await Expect(bob.Connection).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 45_000 });
        await alice.SendAsync("m5");
        await Expect(bob.MessageTexts).ToHaveTextAsync(["m1", "m2", "m3", "m4", "m5"]);
        await Expect(bob.Page.Locator("#messages .notice.gap")).ToHaveCountAsync(0);
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task A_gap_a_resume_could_not_fill_is_shown_and_loads_on_request()
    {
        Start(new Dictionary<string, string> { ["Chat:History:MaxResume"] = "2", ["Chat:History:OnJoin"] = "3" });
        var (alice, bob, cable) = await AliceAndBobOnACableAsync("gap");
        await alice.SendAsync("m1");
        await Expect(bob.Message("m1")).ToBeVisibleAsync();

        await cable.CutAsync();
        foreach (var text in new[] { "m2", "m3", "m4", "m5" })
        {
            await alice.SendAsync(text);
        }

        await Expect(alice.Message("m5")).ToBeVisibleAsync();
        await cable.RefusedAsync(1);
        cable.Restore();

        await Expect(bob.Connection).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 45_000 });
        var gap = bob.Page.Locator("#messages .notice.gap");
        await Expect(gap.Locator(".notice-text")).ToHaveTextAsync("Some messages while you were away could not be recovered.");
        await Expect(bob.MessageTexts).ToHaveTextAsync(["m1", "m3", "m4", "m5"]);

        await gap.GetByRole(AriaRole.Button, new() { Name = "Load them" }).ClickAsync();

        await Expect(bob.MessageTexts).ToHaveTextAsync(["m1", "m2", "m3", "m4", "m5"]);
        await Expect(gap).ToHaveCountAsync(0);
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task A_page_whose_session_another_connection_took_over_says_so_and_does_not_reconnect()
    {
        Start();
        var bob = await OpenAsync("taken-over");
        await bob.JoinAsync("bob");
        var token = await bob.Page.EvaluateAsync<string>("() => sessionStorage.getItem('chat.resume:taken-over:BOB')");
        Assert.False(string.IsNullOrEmpty(token));

        // What a duplicated tab does: the same name with this tab's token.
        using var newer = new ClientWebSocket();
        newer.Options.SetRequestHeader("Origin", servers!.Web.Origin);
        var address = new UriBuilder(servers.Web.Address) { Scheme = "ws", Path = "/ws/bob", Query = $"room=taken-over&token={Uri.EscapeDataString(token)}" }.Uri;
        await newer.ConnectAsync(address, TestContext.Current.CancellationToken);

        await Expect(bob.Page.Locator("#connection-text")).ToHaveTextAsync("Taken over by a newer connection");
        await Expect(bob.Connection).ToHaveAttributeAsync("data-state", "offline");
        await Expect(bob.Page.Locator("#retry-button")).ToBeHiddenAsync();
        // The network coming back is the page's cue to retry; after a takeover it must not be.
        await bob.Page.EvaluateAsync("() => window.dispatchEvent(new Event('online'))");
        await Expect(bob.Connection).ToHaveAttributeAsync("data-state", "offline");
        await Expect(bob.Page.Locator("#connection-text")).ToHaveTextAsync("Taken over by a newer connection");
        Assert.Equal(WebSocketState.Open, newer.State);
    }

    private void Start(IReadOnlyDictionary<string, string>? apiSettings = null) => servers = ChatServers.Start(apiSettings);

    private async Task<(ChatPage Alice, ChatPage Bob, SocketCable Cable)> AliceAndBobOnACableAsync(string room)
    {
        var alice = await OpenAsync(room);
        await alice.JoinAsync("alice");
        var bob = await OpenAsync(room);
        var cable = await SocketCable.AttachAsync(bob.Page);
        await bob.JoinAsync("bob");
        await Expect(alice.OnlineCount).ToHaveTextAsync("2");
        return (alice, bob, cable);
    }

    private async Task<ChatPage> OpenAsync(string room)
    {
        var page = await ChatPage.OpenAsync(browser.Browser, servers!.Web.Address, room);
        pages.Add(page);
        return page;
    }

    /// <summary>
    /// A page's WebSockets pass through Playwright, so a test can cut the page off the way a lost network does: the
    /// page's socket dies while the server's end stays open (the server has not noticed yet), and new sockets fail
    /// until the cable is restored.
    /// </summary>
    private sealed class SocketCable
    {
        private readonly Lock gate = new();
        private readonly List<(int Count, TaskCompletionSource Reached)> waiters = [];
        private IWebSocketRoute? live;
        private bool down;
        private int refused;

        public static async Task<SocketCable> AttachAsync(IPage page)
        {
            var cable = new SocketCable();
            await page.RouteWebSocketAsync(new Regex("/ws/"), cable.Route);
            return cable;
        }

        public async Task CutAsync()
        {
            IWebSocketRoute route;
            lock (gate)
            {
                down = true;
                route = live ?? throw new InvalidOperationException("No socket to cut.");
                live = null;
            }

            // Closing the page's end must not close the server's: a handler of its own stops Playwright forwarding it.
            route.OnClose((_, _) => { });
            await route.CloseAsync(new() { Code = 1006 });
        }

        public void Restore()
        {
            lock (gate)
            {
                down = false;
            }
        }

        /// <summary>Waits until this many connection attempts have failed since the cut.</summary>
        public Task RefusedAsync(int count)
        {
            lock (gate)
            {
                if (refused >= count)
                {
                    return Task.CompletedTask;
                }

                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                waiters.Add((count, reached));
                return reached.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            }
        }

        private void Route(IWebSocketRoute route)
        {
            lock (gate)
            {
                if (!down)
                {
                    route.ConnectToServer();
                    live = route;
                    return;
                }

                refused++;
                foreach (var waiter in waiters.Where(w => w.Count <= refused))
                {
                    waiter.Reached.TrySetResult();
                }
            }

            _ = route.CloseAsync(new() { Code = 1006 });
        }
    }
}
