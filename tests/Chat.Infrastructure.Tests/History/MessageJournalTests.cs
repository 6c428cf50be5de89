using System.Text;
using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Messages;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.History;
using Chat.Infrastructure.History.Sqlite;
using Chat.Infrastructure.Realtime;
using Microsoft.Extensions.Logging.Abstractions;
using NSubstitute;
using NSubstitute.ExceptionExtensions;

namespace Chat.Infrastructure.Tests.History;

/// <summary>The journal between senders and the fan-out: ids in order, stored before seen, failures told to the sender.</summary>
public sealed class MessageJournalTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private readonly string folder = Directory.CreateTempSubdirectory("chat-journal-").FullName;
    private readonly ChatBroadcaster broadcaster = new(TestTelemetry.Create());
    private readonly ChatRoom room = new(RoomId.Create("general"), Now);
    private readonly User alice = new(new ConnectionId(1), UserName.Create("alice"), Now);
    private readonly ClientOutbox outbox = new(new ConnectionId(1), 4096);

    public ValueTask InitializeAsync()
    {
        broadcaster.Attach(outbox);
        room.Join(alice, out var joined, Now);
        broadcaster.WelcomeAsync(joined!, new RoomWelcome("e", "t", []), CancellationToken.None);
        outbox.Reader.TryRead(out _);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Messages_are_numbered_in_order_stored_before_they_are_seen_and_flush_waits_for_them()
    {
        var store = new SqliteMessageStore(Path.Combine(folder, "chat.db"));
        var journal = Journal(store);
        await journal.StartAsync(TestContext.Current.CancellationToken);

        for (var i = 0; i < 500; i++)
        {
            Assert.True(await journal.PublishAsync(room, Post($"m{i}"), alice.Connection, TestContext.Current.CancellationToken));
        }

        await journal.FlushAsync(TestContext.Current.CancellationToken);
        var stored = await store.ReadLatestAsync(room.Id, 1000, TestContext.Current.CancellationToken);
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), stored.Select(m => m.Id));
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"m{i}"), stored.Select(m => m.Text));

        var frames = Drain();
        Assert.Equal(500, frames.Count);
        Assert.All(frames.Select((f, i) => (f, i)), x => Assert.Contains($"\"id\":{x.i + 1}", x.f, StringComparison.Ordinal));
        await journal.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_batch_the_store_refuses_is_seen_by_nobody_and_its_sender_is_told()
    {
        var store = Substitute.For<IMessageStore>();
        store.OpenRoomAsync(Arg.Any<RoomId>(), Arg.Any<DateTimeOffset>(), Arg.Any<CancellationToken>())
            .Returns(new RoomHistory(room.Id, "e", 0, 0, 0, Now));
        store.AppendAsync(Arg.Any<IReadOnlyList<HistoryMessage>>(), Arg.Any<CancellationToken>())
            .ThrowsAsync(new IOException("disk gone"));
        var journal = Journal(store);
        await journal.StartAsync(TestContext.Current.CancellationToken);

        await journal.PublishAsync(room, Post("lost"), alice.Connection, TestContext.Current.CancellationToken);
        await journal.FlushAsync(TestContext.Current.CancellationToken);

        var frame = Assert.Single(Drain());
        Assert.Contains("\"type\":\"error\"", frame, StringComparison.Ordinal);
        Assert.Contains("could not be saved", frame, StringComparison.Ordinal);
        Assert.DoesNotContain("lost", frame, StringComparison.Ordinal);
        await journal.StopAsync(TestContext.Current.CancellationToken);
    }

    private MessageJournal Journal(IMessageStore store) => new(
        store, broadcaster, Microsoft.Extensions.Options.Options.Create(new HistoryOptions()), TimeProvider.System,
        NullLogger<MessageJournal>.Instance);

    private ChatMessage Post(string text) => room.Post(alice, MessageText.Create(text), Now)!;

    private List<string> Drain()
    {
        var frames = new List<string>();
        while (outbox.Reader.TryRead(out var frame))
        {
            frames.Add(Encoding.UTF8.GetString(frame));
        }

        return frames;
    }
}
