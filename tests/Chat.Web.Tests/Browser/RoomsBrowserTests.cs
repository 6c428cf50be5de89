using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests.Browser;

/// <summary>
/// Rooms, paging back through history, typing, mentions, the unread count and the live region, in real Chromium
/// through the real Chat.Web and Chat.Api.
/// </summary>
public sealed class RoomsBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncDisposable
{
    private readonly List<ChatPage> pages = [];
    private readonly List<ClientWebSocket> sockets = [];
    private ChatServers? servers;

    public async ValueTask DisposeAsync()
    {
        foreach (var page in pages)
        {
            await page.CloseAsync();
        }

        foreach (var socket in sockets)
        {
            socket.Dispose();
        }

        if (servers is not null)
        {
            await servers.DisposeAsync();
        }
    }

    [Fact]
    public async Task Three_people_in_two_rooms_hear_only_their_room_and_one_moves_over_keeping_name_and_draft()
    {
        Start();
        var alice = await OpenAsync("red");
        await alice.JoinAsync("alice");
        var bob = await OpenAsync("red");
        await bob.JoinAsync("bob");
        var carol = await OpenAsync("blue");
        await carol.JoinAsync("carol");

        await alice.SendAsync("in red");
        await carol.SendAsync("in blue");
        await Expect(bob.Message("in red")).ToBeVisibleAsync();
        await Expect(carol.Message("in blue")).ToBeVisibleAsync();
        await Expect(bob.MessageTexts).ToHaveTextAsync(["in red"]);
        await Expect(carol.MessageTexts).ToHaveTextAsync(["in blue"]);

        // Every page lists the rooms with how many are in each, its own marked as current.
        await Expect(alice.RoomLink("blue").Locator(".room-count")).ToHaveTextAsync("1");
        await Expect(alice.RoomLink("red").Locator(".room-count")).ToHaveTextAsync("2");
        await Expect(alice.RoomLink("red")).ToHaveAttributeAsync("aria-current", "page");
        await Expect(carol.RoomLink("red").Locator(".room-count")).ToHaveTextAsync("2");
        await Expect(carol.RoomLink("red")).ToHaveAttributeAsync("href", "?room=red");
        await alice.ScreenshotAsync("desktop-rooms");

        // Bob half-writes something in red, then moves to blue by its link.
        await bob.MessageInput.FillAsync("half-typed in red");
        await bob.RoomLink("blue").ClickAsync();

        await bob.ExpectConnectedAsync();
        await Expect(bob.CurrentRoom).ToHaveTextAsync("#blue");
        Assert.EndsWith("/?room=blue", bob.Page.Url, StringComparison.Ordinal);
        await Expect(bob.Page).ToHaveTitleAsync("#blue — Chat");
        await Expect(bob.MessageTexts).ToHaveTextAsync(["in blue"]);
        await Expect(bob.OnlineNames).ToHaveTextAsync(["carol", "bob (you)"]);
        await Expect(bob.MessageInput).ToHaveValueAsync("");
        await Expect(carol.Notice("bob joined the chat")).ToBeVisibleAsync();
        await Expect(alice.Notice("bob left the chat")).ToBeVisibleAsync();
        await Expect(alice.RoomLink("blue").Locator(".room-count")).ToHaveTextAsync("2");
        await Expect(alice.RoomLink("red").Locator(".room-count")).ToHaveTextAsync("1");

        await bob.SendAsync("bob in blue");
        await Expect(carol.Message("bob in blue").Locator(".sender")).ToHaveTextAsync("bob");
        await alice.SendAsync("red again");
        await Expect(alice.Message("red again")).ToBeVisibleAsync();
        await Expect(carol.Message("red again")).ToHaveCountAsync(0);

        // Back to red by name, with the keyboard: the draft is where he left it, and red's history is back.
        await bob.Page.Locator("#room-input").FillAsync("Red");
        await bob.Page.Locator("#room-input").PressAsync("Enter");
        await bob.ExpectConnectedAsync();
        await Expect(bob.CurrentRoom).ToHaveTextAsync("#red");
        await Expect(bob.MessageInput).ToHaveValueAsync("half-typed in red");
        await Expect(bob.MessageTexts).ToHaveTextAsync(["in red", "red again"]);
        await Expect(bob.OnlineNames).ToHaveTextAsync(["alice", "bob (you)"]);

        // The browser's Back button goes to the room before.
        await bob.Page.GoBackAsync();
        await Expect(bob.CurrentRoom).ToHaveTextAsync("#blue");
        await bob.ExpectConnectedAsync();
        await Expect(bob.MessageTexts).ToHaveTextAsync(["in blue", "bob in blue"]);

        Assert.Empty(alice.Problems);
        Assert.Empty(bob.Problems);
        Assert.Empty(carol.Problems);
    }

    [Fact]
    public async Task A_link_opens_its_room_and_a_room_is_created_by_name()
    {
        Start();
        var alice = await OpenAsync("linked");
        await alice.JoinAsync("alice");
        await alice.SendAsync("said in linked");

        // A link someone shared: /?room=linked.
        var bob = await OpenAsync("linked");
        await Expect(bob.Page.Locator("#join-room")).ToHaveTextAsync("#linked");
        await bob.JoinAsync("bob");
        await Expect(bob.CurrentRoom).ToHaveTextAsync("#linked");
        await Expect(bob.MessageTexts).ToHaveTextAsync(["said in linked"]);

        await bob.Page.Locator("#room-input").FillAsync("not a room!");
        await bob.Page.Locator("#room-button").ClickAsync();
        await Expect(bob.Page.Locator("#room-error")).ToHaveTextAsync("A room name is 1 to 64 letters, digits, - or _.");
        await Expect(bob.CurrentRoom).ToHaveTextAsync("#linked");

        await bob.Page.Locator("#room-input").FillAsync("brand-new");
        await bob.Page.Locator("#room-button").ClickAsync();
        await bob.ExpectConnectedAsync();
        await Expect(bob.CurrentRoom).ToHaveTextAsync("#brand-new");
        await Expect(bob.OnlineNames).ToHaveTextAsync(["bob (you)"]);
        await Expect(bob.Page.Locator("#room-error")).ToBeHiddenAsync();
        await Expect(alice.RoomLink("brand-new").Locator(".room-count")).ToHaveTextAsync("1");

        // Alice follows the link to the new room, as a person following a shared link would.
        await alice.RoomLink("brand-new").ClickAsync();
        await alice.ExpectConnectedAsync();
        await Expect(bob.Notice("alice joined the chat")).ToBeVisibleAsync();
        Assert.Empty(alice.Problems);
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task Scrolling_up_loads_older_messages_and_the_first_visible_one_stays_where_it_was()
    {
        Start(new Dictionary<string, string>
        {
            ["Chat:History:OnJoin"] = "20",
            ["Chat:MessagesPerSecond"] = "1000",
            ["Chat:MessageBurst"] = "1000",
        });
        await SayAsync("seeder", "paging", [.. Enumerable.Range(1, 70).Select(i => $"m{i}")]);

        var alice = await OpenAsync("paging", height: 700);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await alice.Page.RouteAsync("**/room/paging/messages?*", async route =>
        {
            held.TrySetResult();
            await release.Task;
            await route.ContinueAsync();
        });
        await alice.JoinAsync("alice");
        await Expect(alice.MessageTexts).ToHaveCountAsync(20);
        await Expect(alice.MessageTexts.First).ToHaveTextAsync("m51");

        await alice.Messages.EvaluateAsync("list => list.scrollTop = 0");
        await held.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
        var before = await TopOfAsync(alice.Message("m51"));
        release.SetResult();

        await Expect(alice.MessageTexts).ToHaveCountAsync(70);
        var after = await TopOfAsync(alice.Message("m51"));
        Assert.True(Math.Abs(after - before) <= 1, $"m51 moved from {before} to {after} px");
        await Expect(alice.MessageTexts).ToHaveTextAsync([.. Enumerable.Range(1, 70).Select(i => $"m{i}")]);
        Assert.True(await alice.Messages.EvaluateAsync<double>("list => list.scrollTop") > 0);
        // Older history is history: one divider above it all, one day separator, nothing announced.
        await Expect(alice.Page.Locator("#messages .divider")).ToHaveCountAsync(1);
        await Expect(alice.Page.Locator("#messages .day")).ToHaveCountAsync(1);
        await Expect(alice.Announcer).ToBeEmptyAsync();
        Assert.Empty(alice.Problems);
    }

    [Fact]
    public async Task Typing_is_shown_to_the_others_and_clears_when_the_message_arrives_or_by_itself()
    {
        Start();
        var alice = await OpenAsync("typing");
        var sent = new List<string>();
        alice.Page.WebSocket += (_, socket) => socket.FrameSent += (_, frame) =>
        {
            lock (sent)
            {
                sent.Add(frame.Text ?? "");
            }
        };
        await alice.JoinAsync("alice");
        var bob = await OpenAsync("typing");
        await bob.JoinAsync("bob");
        var carol = await OpenAsync("typing");
        await carol.JoinAsync("carol");
        await Expect(alice.OnlineCount).ToHaveTextAsync("3");

        var clock = Stopwatch.StartNew();
        await alice.MessageInput.PressSequentiallyAsync("hello everyone");
        var typedIn = clock.Elapsed;
        await Expect(bob.Typing).ToHaveTextAsync("alice is typing…");
        await Expect(alice.Typing).ToBeEmptyAsync();
        // At most one typing frame every 3 s while typing, and no text in it.
        string[] typingFrames;
        lock (sent)
        {
            typingFrames = [.. sent.Where(f => f.Contains("typing", StringComparison.Ordinal))];
        }

        Assert.All(typingFrames, f => Assert.Equal("""{"type":"typing"}""", f));
        Assert.InRange(typingFrames.Length, 1, 1 + (int)(typedIn.TotalSeconds / 3));

        await carol.MessageInput.PressSequentiallyAsync("me too");
        await Expect(bob.Typing).ToHaveTextAsync("alice and carol are typing…");
        using var dave = await JoinSocketAsync("dave", "typing", "features=typing");
        await dave.SendAsync(Encoding.UTF8.GetBytes("""{"type":"typing"}"""), WebSocketMessageType.Text, true, TestContext.Current.CancellationToken);
        await Expect(bob.Typing).ToHaveTextAsync("several people are typing…");

        // Alice's message ends her typing at once; the others' fade by themselves a few seconds later.
        await alice.MessageInput.PressAsync("Enter");
        await Expect(bob.Message("hello everyone")).ToBeVisibleAsync();
        await Expect(bob.Typing).ToHaveTextAsync("carol and dave are typing…");
        await bob.ScreenshotAsync("desktop-typing");
        await Expect(bob.Typing).ToBeEmptyAsync();
        Assert.Empty(alice.Problems);
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task A_mention_is_completed_by_keyboard_and_marked_most_strongly_for_the_one_named()
    {
        Start();
        var alice = await OpenAsync("mentions");
        await alice.JoinAsync("alice");
        var bob = await OpenAsync("mentions");
        await bob.JoinAsync("bob");
        var bobby = await OpenAsync("mentions");
        await bobby.JoinAsync("bobby");
        await Expect(alice.OnlineCount).ToHaveTextAsync("3");
        var options = alice.Page.Locator("#mention-list [role=option]");

        await alice.MessageInput.PressSequentiallyAsync("hi @bo");
        await Expect(options).ToHaveTextAsync(["@bob", "@bobby"]);
        await Expect(alice.MessageInput).ToHaveAttributeAsync("aria-expanded", "true");
        await Expect(options.Nth(0)).ToHaveAttributeAsync("aria-selected", "true");
        await alice.MessageInput.PressAsync("ArrowDown");
        await Expect(options.Nth(1)).ToHaveAttributeAsync("aria-selected", "true");
        await Expect(alice.MessageInput).ToHaveAttributeAsync("aria-activedescendant", "mention-1");
        await alice.MessageInput.PressAsync("ArrowUp");
        await Expect(options.Nth(0)).ToHaveAttributeAsync("aria-selected", "true");
        await alice.MessageInput.PressAsync("Tab");
        await Expect(alice.MessageInput).ToHaveValueAsync("hi @bob ");
        await Expect(alice.MessageInput).ToBeFocusedAsync();
        await Expect(alice.Page.Locator("#mention-list")).ToBeHiddenAsync();

        // Escape closes the list and leaves the text; Enter with the list open completes instead of sending.
        await alice.MessageInput.PressSequentiallyAsync("and @b");
        await Expect(options).ToHaveCountAsync(2);
        await alice.MessageInput.PressAsync("Escape");
        await Expect(alice.Page.Locator("#mention-list")).ToBeHiddenAsync();
        await Expect(alice.MessageInput).ToHaveValueAsync("hi @bob and @b");
        await alice.MessageInput.PressSequentiallyAsync("obb");
        await Expect(options).ToHaveTextAsync(["@bobby"]);
        await alice.MessageInput.PressAsync("Enter");
        await Expect(alice.MessageInput).ToHaveValueAsync("hi @bob and @bobby ");
        await alice.MessageInput.PressAsync("Enter");

        var onBob = bob.Message("hi @bob and @bobby");
        await Expect(onBob.Locator("mark.mention.me")).ToHaveTextAsync("@bob");
        await Expect(onBob.Locator("mark.mention:not(.me)")).ToHaveTextAsync("@bobby");
        await Expect(onBob).ToHaveClassAsync(new Regex(@"\bmentions-me\b"));
        var onBobby = bobby.Message("hi @bob and @bobby");
        await Expect(onBobby.Locator("mark.mention.me")).ToHaveTextAsync("@bobby");
        await Expect(onBobby.Locator("mark.mention:not(.me)")).ToHaveTextAsync("@bob");
        var onAlice = alice.Message("hi @bob and @bobby");
        await Expect(onAlice.Locator("mark.mention")).ToHaveCountAsync(2);
        await Expect(onAlice.Locator("mark.mention.me")).ToHaveCountAsync(0);
        await Expect(onAlice).Not.ToHaveClassAsync(new Regex(@"\bmentions-me\b"));
        await Expect(bob.Announcer).ToHaveTextAsync("alice mentioned you: hi @bob and @bobby");

        // Only people present are marked; an address is no mention.
        await alice.SendAsync("mail @nobody or me@bob.example");
        await Expect(bob.Message("mail @nobody or me@bob.example").Locator("mark")).ToHaveCountAsync(0);

        // The reader's own mark is the strongest: white on red against a yellow-tinted mark for others.
        var readings = await PageProbes.ContrastAsync(
            bob.Page, ("mention of the reader", "mark.mention.me", null), ("mention of another", "mark.mention:not(.me)", null));
        Assert.All(readings, r => Assert.True(r.Passes, r.ToString()));
        Assert.NotEqual(readings[0].Background, readings[1].Background);
        await bob.ScreenshotAsync("desktop-mention");
        Assert.Empty(alice.Problems);
        Assert.Empty(bob.Problems);
        Assert.Empty(bobby.Problems);
    }

    [Fact]
    public async Task A_hidden_page_counts_unread_messages_and_mentions_in_its_title_and_marks_where_they_begin()
    {
        Start();
        var alice = await OpenAsync("unread");
        await alice.JoinAsync("alice");
        var bob = await OpenAsync("unread");
        await bob.JoinAsync("bob");
        await alice.SendAsync("seen");
        await Expect(bob.Message("seen")).ToBeVisibleAsync();
        await Expect(bob.Page).ToHaveTitleAsync("#unread — Chat");

        await bob.SetHiddenAsync(true);
        await alice.SendAsync("one");
        await alice.SendAsync("two");
        await Expect(bob.Page).ToHaveTitleAsync("(2) #unread — Chat");
        await alice.SendAsync("hey @bob");
        await Expect(bob.Page).ToHaveTitleAsync("(3, @1) #unread — Chat");
        // His own messages (another tab of his, say) and presence notices are not unread.
        await bob.SendAsync("from bob");
        await Expect(bob.Message("from bob")).ToBeVisibleAsync();
        await Expect(bob.Page).ToHaveTitleAsync("(3, @1) #unread — Chat");

        await bob.SetHiddenAsync(false);
        await Expect(bob.Page).ToHaveTitleAsync("#unread — Chat");
        var newDivider = bob.Page.Locator("#messages .divider.unread");
        await Expect(newDivider).ToHaveTextAsync("New");
        await Expect(bob.Page.Locator("#messages .divider.unread + .message .text")).ToHaveTextAsync("one");

        // Another spell away moves the divider to its own first unread message.
        await bob.SetHiddenAsync(true);
        await alice.SendAsync("three");
        await Expect(bob.Page).ToHaveTitleAsync("(1) #unread — Chat");
        await Expect(newDivider).ToHaveCountAsync(1);
        await Expect(bob.Page.Locator("#messages .divider.unread + .message .text")).ToHaveTextAsync("three");
        await bob.SetHiddenAsync(false);
        await Expect(bob.Page).ToHaveTitleAsync("#unread — Chat");
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task The_live_region_announces_new_messages_from_others_and_neither_history_nor_ones_own()
    {
        Start();
        var alice = await OpenAsync("announce");
        await alice.JoinAsync("alice");
        await alice.SendAsync("before bob came");
        var bob = await OpenAsync("announce");
        await bob.JoinAsync("bob");
        await Expect(bob.Message("before bob came")).ToBeVisibleAsync();
        await Expect(bob.Announcer).ToHaveAttributeAsync("aria-live", "polite");
        await Expect(bob.Messages).ToHaveAttributeAsync("aria-live", "off");

        await bob.SendAsync("from bob");
        await alice.SendAsync("hello bob");
        await Expect(bob.Message("hello bob")).ToBeVisibleAsync();
        await Expect(bob.Announcer.Locator("p")).ToHaveTextAsync(["alice: hello bob"]);
        await Expect(alice.Announcer.Locator("p")).ToHaveTextAsync(["bob: from bob"]);

        for (var i = 1; i <= 6; i++)
        {
            await alice.SendAsync($"burst {i}");
        }

        // The last few stay, oldest first, so a screen reader reads each once.
        await Expect(bob.Announcer.Locator("p")).ToHaveTextAsync([.. Enumerable.Range(2, 5).Select(i => $"alice: burst {i}")]);
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task At_phone_width_the_rooms_typing_and_mentions_fit_without_sideways_scroll()
    {
        Start();
        var phone = await OpenAsync("phone-rooms", width: 360, height: 740);
        await phone.JoinAsync("dana");
        var friend = await OpenAsync("phone-rooms");
        await friend.JoinAsync("erin");
        var elsewhere = await OpenAsync("another-room-with-a-long-name");
        await elsewhere.JoinAsync("fay");

        await friend.SendAsync("hello @dana, look at this");
        await friend.MessageInput.PressSequentiallyAsync("more");
        await Expect(phone.Typing).ToHaveTextAsync("erin is typing…");
        await Expect(phone.Message("hello @dana, look at this").Locator("mark.mention.me")).ToHaveTextAsync("@dana");
        await phone.MessageInput.PressSequentiallyAsync("@e");
        await Expect(phone.Page.Locator("#mention-list")).ToBeVisibleAsync();
        await Expect(phone.Page.Locator("#mention-list")).ToBeInViewportAsync(new() { Ratio = 1 });
        await phone.ScreenshotAsync("phone-typing-mention");
        await phone.MessageInput.PressAsync("Escape");

        await phone.Page.Locator("#people-toggle").ClickAsync();
        await Expect(phone.RoomLink("another-room-with-a-long-name").Locator(".room-count")).ToHaveTextAsync("1");
        await Expect(phone.Page.Locator("#room-input")).ToBeInViewportAsync(new() { Ratio = 1 });
        var widths = await phone.Page.EvaluateAsync<int[]>(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]");
        Assert.True(widths[0] <= widths[1] && widths[2] <= widths[1], $"scrollWidth {widths[0]}/{widths[2]} > clientWidth {widths[1]}");
        await phone.ScreenshotAsync("phone-rooms");

        await phone.RoomLink("another-room-with-a-long-name").ClickAsync();
        await phone.ExpectConnectedAsync();
        await Expect(phone.CurrentRoom).ToHaveTextAsync("#another-room-with-a-long-name");
        await Expect(phone.MessageInput).ToBeInViewportAsync(new() { Ratio = 1 });
        Assert.Empty(phone.Problems);
    }

    private static Task<double> TopOfAsync(ILocator locator) => locator.EvaluateAsync<double>("el => el.getBoundingClientRect().top");

    private void Start(IReadOnlyDictionary<string, string>? apiSettings = null) => servers = ChatServers.Start(apiSettings);

    private async Task<ChatPage> OpenAsync(string room, int width = 1280, int height = 800)
    {
        var page = await ChatPage.OpenAsync(browser.Browser, servers!.Web.Address, room, width, height);
        pages.Add(page);
        return page;
    }

    /// <summary>A plain client, as one written for the original (or with features) would be, joined and welcomed.</summary>
    private async Task<ClientWebSocket> JoinSocketAsync(string name, string room, string? features = null)
    {
        var socket = new ClientWebSocket();
        sockets.Add(socket);
        socket.Options.SetRequestHeader("Origin", servers!.Web.Origin);
        var query = $"room={room}" + (features is null ? "" : "&" + features);
        var address = new UriBuilder(servers.Web.Address) { Scheme = "ws", Path = "/ws/" + name, Query = query }.Uri;
        using var timeout = Timeout();
        await socket.ConnectAsync(address, timeout.Token);
        Assert.Equal("user_joined", (await ReceiveAsync(socket, timeout.Token)).GetProperty("type").GetString());
        return socket;
    }

    /// <summary>Says these messages in a room and waits until the last has come back, so all of them are stored.</summary>
    private async Task SayAsync(string name, string room, IReadOnlyList<string> texts)
    {
        using var socket = await JoinSocketAsync(name, room);
        using var timeout = Timeout();
        foreach (var text in texts)
        {
            await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { message = text }), WebSocketMessageType.Text, true, timeout.Token);
        }

        while ((await ReceiveAsync(socket, timeout.Token)) is var next
            && !(next.GetProperty("type").GetString() == "chat_message" && next.GetProperty("message").GetString() == texts[^1]))
        {
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
    }

    private static async Task<JsonElement> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            stream.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return JsonDocument.Parse(stream.ToArray()).RootElement.Clone();
            }
        }
    }

    private static CancellationTokenSource Timeout()
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        source.CancelAfter(TimeSpan.FromSeconds(20));
        return source;
    }
}
