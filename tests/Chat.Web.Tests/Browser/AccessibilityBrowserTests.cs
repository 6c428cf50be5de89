using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests.Browser;

/// <summary>
/// Keyboard use, colour contrast and reduced motion, checked in real Chromium against the CSS as it computes.
/// Each test prints what it measured and saves it under artifacts/accessibility/.
/// </summary>
public sealed class AccessibilityBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
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
    public async Task The_keyboard_alone_joins_chats_and_leaves_with_a_visible_focus_ring_at_every_stop()
    {
        var friend = await OpenAsync("keyboard");
        await friend.JoinAsync("friend");
        var page = await OpenAsync("keyboard");
        var keyboard = page.Page.Keyboard;
        var stops = new List<FocusReading>();

        // The page starts in the name field, and the field is a stop in the Tab order when focus comes round again.
        await Expect(page.Page.Locator("#name-input")).ToBeFocusedAsync();
        await RecordFocusAsync(page, stops);
        await TabToAsync(page, "#join-button", stops);
        await TabToAsync(page, "#name-input", stops);
        await keyboard.TypeAsync("kim");
        await keyboard.PressAsync("Enter");
        await page.ExpectConnectedAsync();
        await Expect(friend.Notice("kim joined the chat")).ToBeVisibleAsync();

        await Expect(page.MessageInput).ToBeFocusedAsync();
        await RecordFocusAsync(page, stops);
        await TabToAsync(page, "#leave-button", stops);
        await TabToAsync(page, "#message-input", stops);
        await keyboard.TypeAsync("first line");
        await keyboard.PressAsync("Shift+Enter");
        await keyboard.TypeAsync("second line");
        // Had Shift+Enter sent the message, the box would have been emptied.
        await Expect(page.MessageInput).ToHaveValueAsync("first line\nsecond line");
        await TabToAsync(page, "#send-button", stops);
        await TabToAsync(page, "#message-input", stops, key: "Shift+Tab");
        await keyboard.PressAsync("Enter");
        await Expect(friend.Message("first line\nsecond line").Locator(".sender")).ToHaveTextAsync("kim");
        await Expect(page.Message("first line\nsecond line")).ToHaveClassAsync("message own");
        await Expect(page.MessageInput).ToHaveValueAsync("");
        await Expect(page.MessageInput).ToBeFocusedAsync();

        await TabToAsync(page, "#leave-button", stops);
        await keyboard.PressAsync("Enter");
        await Expect(page.Page.Locator("#join-screen")).ToBeVisibleAsync();
        await Expect(friend.Notice("kim left the chat")).ToBeVisibleAsync();
        await Expect(page.Page.Locator("#name-input")).ToBeFocusedAsync();

        // The name is still in the field: Enter joins again, and Space on Leave leaves.
        await keyboard.PressAsync("Enter");
        await page.ExpectConnectedAsync();
        await TabToAsync(page, "#leave-button", stops);
        await keyboard.PressAsync("Space");
        await Expect(page.Page.Locator("#join-screen")).ToBeVisibleAsync();
        await Expect(friend.OnlineCount).ToHaveTextAsync("1");

        Report("keyboard-focus", stops.Select(s => s.ToString()));
        Assert.All(stops, stop =>
        {
            Assert.True(stop.Indicated, $"no visible focus indicator: {stop}");
            Assert.True(stop.FocusVisible, $"focused by keyboard but not :focus-visible: {stop}");
            Assert.True(stop.RingRatio >= 3, $"focus ring under 3:1 against what surrounds it: {stop}");
        });
        Assert.Empty(page.Problems);
        Assert.Empty(friend.Problems);
    }

    [Fact]
    public async Task Text_buttons_notices_the_indicator_and_the_badges_meet_wcag_aa_contrast()
    {
        var readings = new List<ContrastReading>();
        var alice = await OpenAsync("contrast");
        await Expect(alice.Page.Locator("#rule-length")).ToHaveAttributeAsync("data-state", "pending");
        readings.AddRange(await PageProbes.ContrastAsync(alice.Page, ("join: rule not yet checked (muted)", "#rule-length", null)));

        await alice.TryJoinAsync(new string('a', 21));
        await Expect(alice.JoinError).ToBeVisibleAsync();
        readings.AddRange(await PageProbes.ContrastAsync(
            alice.Page,
            ("join: heading", "#join-title", null),
            ("join: intro (muted)", ".join-intro", null),
            ("join: label", "label[for=name-input]", null),
            ("join: name typed", "#name-input", null),
            ("join: rule broken", "#rule-length", null),
            ("join: rule met", "#rule-visible", null),
            ("join: refusal", "#join-error", null),
            ("join: Join button (white on red)", "#join-button", null)));

        await alice.JoinAsync("alice");
        var bob = await OpenAsync("contrast");
        await bob.JoinAsync("bob");
        await bob.SendAsync("Hello from bob");
        await alice.SendAsync("Hello from alice");
        await Expect(alice.Message("Hello from bob")).ToBeVisibleAsync();
        await Expect(alice.Message("Hello from alice")).ToHaveClassAsync("message own");
        await alice.MessageInput.FillAsync("");
        readings.AddRange(await PageProbes.ContrastAsync(alice.Page, ("chat: placeholder (muted)", "#message-input", "::placeholder")));

        await alice.MessageInput.FillAsync(new string('x', 950));
        await Expect(alice.Page.Locator("#message-count")).ToHaveTextAsync("950 / 1000");
        await Expect(alice.Page.Locator("#send-button")).ToBeEnabledAsync();
        readings.AddRange(await PageProbes.ContrastAsync(
            alice.Page,
            ("chat: heading", ".topbar .brand", null),
            ("chat: room name (muted)", "#chat-room", null),
            ("chat: connection indicator, connected", "#connection-text", null),
            ("chat: Leave button", "#leave-button", null),
            ("chat: message text", ".message:not(.own) .text", null),
            ("chat: sender", ".message:not(.own) .sender", null),
            ("chat: timestamp (muted)", ".message:not(.own) time", null),
            ("chat: own message text (red-tinted)", ".message.own .text", null),
            ("chat: own sender (red-tinted)", ".message.own .sender", null),
            ("chat: own timestamp (muted, red-tinted)", ".message.own time", null),
            ("chat: join notice", ".notice.join .notice-text", null),
            ("chat: notice time (muted)", ".notice.join time", null),
            ("chat: online heading", "#people-title", null),
            ("chat: online count badge (white on red)", "#people-count", null),
            ("chat: person online", ".people-list li:not(.me)", null),
            ("chat: you (muted)", ".people-list .you", null),
            ("chat: message typed", "#message-input", null),
            ("chat: hint (muted)", "#composer-hint", null),
            ("chat: counter (muted)", "#message-count", null),
            ("chat: Send button (white on red)", "#send-button", null)));

        await alice.MessageInput.FillAsync(new string('x', 1001));
        await Expect(alice.Page.Locator("#message-count")).ToHaveAttributeAsync("data-state", "over");
        readings.AddRange(await PageProbes.ContrastAsync(alice.Page, ("chat: counter over the limit", "#message-count", null)));
        await alice.MessageInput.FillAsync("");

        await bob.Page.Locator("#leave-button").ClickAsync();
        await Expect(alice.Notice("bob left the chat")).ToBeVisibleAsync();
        readings.AddRange(await PageProbes.ContrastAsync(alice.Page, ("chat: leave notice", ".notice.leave .notice-text", null)));

        await alice.Page.SetViewportSizeAsync(360, 740);
        await Expect(alice.Page.Locator("#people-toggle")).ToBeVisibleAsync();
        readings.AddRange(await PageProbes.ContrastAsync(
            alice.Page,
            ("phone: Online button", "#people-toggle", null),
            ("phone: online count badge (white on red)", "#people-count-short", null)));
        await alice.Page.SetViewportSizeAsync(1280, 800);

        await servers.StopApiAsync();
        await Expect(alice.Connection).ToHaveAttributeAsync("data-state", "reconnecting");
        await Expect(alice.Page.Locator("#retry-button")).ToBeVisibleAsync();
        readings.AddRange(await PageProbes.ContrastAsync(
            alice.Page,
            ("chat: connection indicator, reconnecting", "#connection-text", null),
            ("chat: Retry now link", "#retry-button", null)));
        await alice.Page.Context.SetOfflineAsync(true);
        await Expect(alice.Connection).ToHaveAttributeAsync("data-state", "offline");
        readings.AddRange(await PageProbes.ContrastAsync(alice.Page, ("chat: connection indicator, offline", "#connection-text", null)));
        await alice.Page.Context.SetOfflineAsync(false);

        Report("contrast", readings.Select(r => r.ToString()));
        Assert.All(readings, reading => Assert.True(reading.Passes, $"below WCAG AA: {reading}"));
        // The browser logs each refused reconnection attempt; anything else would be a problem.
        Assert.DoesNotContain(alice.Problems, p => !p.Contains("WebSocket", StringComparison.Ordinal));
        Assert.Empty(bob.Problems);
    }

    [Fact]
    public async Task Rooms_typing_mentions_and_dividers_meet_wcag_aa_and_their_controls_work_by_keyboard_with_a_ring()
    {
        var friend = await OpenAsync("a11y-rooms");
        await friend.JoinAsync("friend");
        var other = await OpenAsync("a11y-other");
        await other.JoinAsync("other");
        var page = await OpenAsync("a11y-rooms");
        var keyboard = page.Page.Keyboard;
        var stops = new List<FocusReading>();
        await page.JoinAsync("kim");
        await Expect(page.RoomLink("a11y-other").Locator(".room-count")).ToHaveTextAsync("1");

        // Hidden for a moment, so the "New" divider is there to measure.
        await page.SetHiddenAsync(true);
        await friend.SendAsync("hello @kim and @friend");
        await Expect(page.Page).ToHaveTitleAsync("(1, @1) #a11y-rooms — Chat");
        await page.SetHiddenAsync(false);
        await friend.MessageInput.PressSequentiallyAsync("typing on");
        await Expect(page.Typing).ToHaveTextAsync("friend is typing…");

        var readings = new List<ContrastReading>(await PageProbes.ContrastAsync(
            page.Page,
            ("rooms: heading", "#rooms-title", null),
            ("rooms: another room", "#rooms-list a:not([aria-current]) .room-name", null),
            ("rooms: member count (muted)", "#rooms-list a:not([aria-current]) .room-count", null),
            ("rooms: current room", "#rooms-list a[aria-current] .room-name", null),
            ("rooms: current room's count", "#rooms-list a[aria-current] .room-count", null),
            ("rooms: form label", "label[for=room-input]", null),
            ("rooms: rule (muted)", "#room-rule", null),
            ("rooms: placeholder (muted)", "#room-input", "::placeholder"),
            ("rooms: Go button", "#room-button", null),
            ("chat: day separator (muted)", "#messages .day time", null),
            ("chat: New divider", "#messages .divider.unread", null),
            ("chat: mention of the reader (white on red)", "mark.mention.me", null),
            ("chat: mention of another", "mark.mention:not(.me)", null),
            ("chat: typing (muted)", "#typing", null)));

        // Keyboard: Tab reaches a room link, the room field and Go; a bad name is refused on screen.
        await page.MessageInput.FocusAsync();
        await TabToAsync(page, "#room-input", stops, key: "Shift+Tab");
        await keyboard.TypeAsync("no spaces");
        await keyboard.PressAsync("Enter");
        await Expect(page.Page.Locator("#room-error")).ToBeVisibleAsync();
        readings.AddRange(await PageProbes.ContrastAsync(page.Page, ("rooms: refusal", "#room-error", null)));
        await TabToAsync(page, "#room-button", stops);
        await TabToAsync(page, "#room-input", stops, key: "Shift+Tab");
        await TabToAsync(page, "a[data-room='a11y-other']", stops, key: "Shift+Tab");
        await keyboard.PressAsync("Enter");
        await page.ExpectConnectedAsync();
        await Expect(page.CurrentRoom).ToHaveTextAsync("#a11y-other");
        await Expect(page.MessageInput).ToBeFocusedAsync();

        // The completion list, by keyboard alone.
        await keyboard.TypeAsync("@o");
        await Expect(page.Page.Locator("#mention-list [aria-selected=true]")).ToHaveTextAsync("@other");
        readings.AddRange(await PageProbes.ContrastAsync(page.Page, ("composer: chosen name (white on red)", "#mention-list [aria-selected=true]", null)));
        await keyboard.PressAsync("Enter");
        await Expect(page.MessageInput).ToHaveValueAsync("@other ");
        await keyboard.PressAsync("Enter");
        await Expect(other.Message("@other").Locator("mark.mention.me")).ToHaveTextAsync("@other");

        Report("contrast-rooms", readings.Select(r => r.ToString()));
        Report("keyboard-focus-rooms", stops.Select(s => s.ToString()));
        Assert.All(readings, reading => Assert.True(reading.Passes, $"below WCAG AA: {reading}"));
        Assert.Contains(stops, s => s.Element.StartsWith('a'));
        Assert.All(stops, stop =>
        {
            Assert.True(stop.Indicated, $"no visible focus indicator: {stop}");
            Assert.True(stop.FocusVisible, $"focused by keyboard but not :focus-visible: {stop}");
            Assert.True(stop.RingRatio >= 3, $"focus ring under 3:1 against what surrounds it: {stop}");
        });
        Assert.Empty(page.Problems);
    }

    [Fact]
    public async Task With_reduced_motion_new_messages_and_the_reconnecting_pulse_do_not_move()
    {
        var moving = await OpenAsync("motion", ReducedMotion.NoPreference);
        var still = await OpenAsync("motion", ReducedMotion.Reduce);
        await moving.JoinAsync("moving");
        await still.JoinAsync("still");

        await moving.SendAsync("a new message");
        await Expect(moving.Message("a new message")).ToBeVisibleAsync();
        await Expect(still.Message("a new message")).ToBeVisibleAsync();
        var movingMessage = await NewMessageMotionAsync(moving, "a new message");
        var stillMessage = await NewMessageMotionAsync(still, "a new message");
        var movingChat = await PageProbes.MotionAsync(moving.Page);
        var stillChat = await PageProbes.MotionAsync(still.Page);

        await servers.StopApiAsync();
        await Expect(moving.Connection).ToHaveAttributeAsync("data-state", "reconnecting");
        await Expect(still.Connection).ToHaveAttributeAsync("data-state", "reconnecting");
        var movingReconnecting = await PageProbes.MotionAsync(moving.Page);
        var stillReconnecting = await PageProbes.MotionAsync(still.Page);

        Report("motion",
        [
            $"no preference, new message: {movingMessage}",
            $"reduce,        new message: {stillMessage}",
            $"no preference, chat:         {movingChat}",
            $"reduce,        chat:         {stillChat}",
            $"no preference, reconnecting: {movingReconnecting}",
            $"reduce,        reconnecting: {stillReconnecting}",
        ]);
        // Without the preference the probes do see the fade-in, the button transitions and the pulse.
        Assert.Equal("0.16s", movingMessage);
        Assert.True(movingChat.TransitionSeconds > 0.1, movingChat.ToString());
        Assert.Equal("span.dot", movingReconnecting.AnimationAt);
        Assert.Equal("0s", stillMessage);
        foreach (var reading in new[] { stillChat, stillReconnecting })
        {
            Assert.True(reading.AnimationSeconds <= 0.01, reading.ToString());
            Assert.True(reading.TransitionSeconds <= 0.01, reading.ToString());
            Assert.Equal(0, reading.RunningAnimations);
        }
    }

    private static Task<string> NewMessageMotionAsync(ChatPage page, string text) =>
        page.Message(text).EvaluateAsync<string>("el => getComputedStyle(el).animationDuration");

    private static async Task RecordFocusAsync(ChatPage page, List<FocusReading> stops)
    {
        if (await PageProbes.FocusAsync(page.Page) is { } reading)
        {
            stops.Add(reading);
        }
    }

    /// <summary>Presses Tab (or Shift+Tab) until the element has focus, recording every stop on the way.</summary>
    private static async Task TabToAsync(ChatPage page, string id, List<FocusReading> stops, string key = "Tab", int maxPresses = 12)
    {
        var trail = new List<string>();
        for (var press = 0; press < maxPresses; press++)
        {
            await page.Page.Keyboard.PressAsync(key);
            var reading = await PageProbes.FocusAsync(page.Page);
            trail.Add(reading?.Element ?? "(page)");
            if (reading is null)
            {
                continue;
            }

            stops.Add(reading);
            if (reading.Element == id || (!id.StartsWith('#') && await page.Page.EvaluateAsync<bool>("s => document.activeElement.matches(s)", id)))
            {
                return;
            }
        }

        Assert.Fail($"{key} did not reach {id} in {maxPresses} presses: {string.Join(" → ", trail)}");
    }

    private static void Report(string name, IEnumerable<string> lines)
    {
        var text = string.Join('\n', lines);
        var path = Path.Combine(AppContext.BaseDirectory, "artifacts", "accessibility", name + ".txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text + "\n");
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        Console.WriteLine($"{name} ({path}):\n{text}");
    }

    private async Task<ChatPage> OpenAsync(string room, ReducedMotion motion = ReducedMotion.Reduce)
    {
        var page = await ChatPage.OpenAsync(browser.Browser, servers.Web.Address, room, motion: motion);
        pages.Add(page);
        return page;
    }
}
