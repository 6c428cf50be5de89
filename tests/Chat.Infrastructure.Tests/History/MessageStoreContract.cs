using Chat.Application.Abstractions;
using Chat.Domain.Rooms;

namespace Chat.Infrastructure.Tests.History;

/// <summary>
/// What every <see cref="IMessageStore"/> engine promises, run against each real engine by a subclass. Each test gets
/// its own empty file or database; a second store over it is the same data after a restart.
/// </summary>
public abstract class MessageStoreContract : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_123);
    private static readonly RoomId General = RoomId.Create("general");
    private static readonly RoomId Games = RoomId.Create("games");
    private readonly List<IMessageStore> stores = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The engine's own migrations, as shipped.</summary>
    protected abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>A new, uninitialised store over this test's file or database.</summary>
    protected abstract IMessageStore NewStore(IReadOnlyList<string> migrations);

    /// <summary>The schema version recorded in this test's file or database.</summary>
    protected abstract Task<int> ReadSchemaVersionAsync();

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var store in stores)
        {
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Opening_an_unknown_room_creates_it_empty_with_a_random_epoch()
    {
        var store = await OpenStoreAsync();

        var general = await store.OpenRoomAsync(General, T0, Ct);
        var games = await store.OpenRoomAsync(Games, T0, Ct);

        Assert.Equal(new RoomHistory(General, general.Epoch, 0, 0, 0, T0), general);
        Assert.True(general.Epoch.Length >= 22, general.Epoch);
        Assert.NotEqual(general.Epoch, games.Epoch);
        Assert.Equal(general, await store.FindRoomAsync(General, Ct));
    }

    [Fact]
    public async Task Opening_a_known_room_changes_nothing()
    {
        var store = await OpenStoreAsync();
        var opened = await store.OpenRoomAsync(General, T0, Ct);
        await store.AppendAsync([Message(General, 1)], Ct);

        var reopened = await store.OpenRoomAsync(General, T0.AddHours(1), Ct);

        Assert.Equal(opened with { LastId = 1, MessageCount = 1, FirstId = 1 }, reopened);
    }

    [Fact]
    public async Task Concurrent_opens_of_a_new_room_all_get_the_same_epoch()
    {
        var store = await OpenStoreAsync();

        var opened = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => store.OpenRoomAsync(General, T0, Ct), Ct)));

        Assert.Single(opened.Select(r => r.Epoch).Distinct());
        Assert.Single(await store.ListRoomsAsync(Ct));
    }

    [Fact]
    public async Task A_room_and_its_messages_survive_a_restart()
    {
        var before = await OpenStoreAsync();
        var opened = await before.OpenRoomAsync(General, T0, Ct);
        IReadOnlyList<HistoryMessage> sent = [Message(General, 1, "first"), Message(General, 2, "second")];
        await before.AppendAsync(sent, Ct);
        if (before is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        var after = await OpenStoreAsync();

        Assert.Equal(opened with { LastId = 2, MessageCount = 2, FirstId = 1 }, await after.FindRoomAsync(General, Ct));
        Assert.Equal(sent, await after.ReadLatestAsync(General, 10, Ct));
    }

    [Fact]
    public async Task An_unknown_room_is_not_found_reads_empty_and_is_not_created_by_reading()
    {
        var store = await OpenStoreAsync();

        Assert.Null(await store.FindRoomAsync(General, Ct));
        Assert.Empty(await store.ReadLatestAsync(General, 10, Ct));
        Assert.Empty(await store.ReadBeforeAsync(General, 10, 10, Ct));
        Assert.Empty(await store.ReadAfterAsync(General, 0, 10, Ct));
        Assert.Equal(0, await store.PruneAsync(10, T0, Ct));
        Assert.Empty(await store.ListRoomsAsync(Ct));
        Assert.Null(await store.FindRoomAsync(General, Ct));
    }

    [Fact]
    public async Task One_append_stores_a_batch_across_rooms_and_creates_rooms_not_yet_opened()
    {
        var store = await OpenStoreAsync();
        var general = await store.OpenRoomAsync(General, T0, Ct);
        HistoryMessage[] batch =
        [
            Message(General, 1), Message(Games, 1, at: T0.AddSeconds(5)), Message(General, 2), Message(Games, 2),
            Message(General, 3),
        ];

        await store.AppendAsync(batch, Ct);

        Assert.Equal(general with { LastId = 3, MessageCount = 3, FirstId = 1 }, await store.FindRoomAsync(General, Ct));
        var games = await store.FindRoomAsync(Games, Ct);
        Assert.NotNull(games);
        Assert.Equal(new RoomHistory(Games, games.Epoch, 2, 2, 1, T0.AddSeconds(5)), games);
        Assert.NotEqual(general.Epoch, games.Epoch);
        Assert.Equal(batch.Where(m => m.Room == General), await store.ReadLatestAsync(General, 10, Ct));
        Assert.Equal(batch.Where(m => m.Room == Games), await store.ReadLatestAsync(Games, 10, Ct));
    }

    [Fact]
    public async Task Ids_may_leave_gaps()
    {
        var store = await OpenStoreAsync();

        await store.AppendAsync([Message(General, 5), Message(General, 9)], Ct);
        await store.AppendAsync([Message(General, 10)], Ct);

        var room = await store.FindRoomAsync(General, Ct);
        Assert.Equal((10, 3, 5), (room!.LastId, room.MessageCount, room.FirstId));
        Assert.Equal([9, 10], Ids(await store.ReadAfterAsync(General, 5, 10, Ct)));
        Assert.Equal([5, 9], Ids(await store.ReadBeforeAsync(General, 10, 10, Ct)));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task An_id_at_or_below_the_rooms_last_id_refuses_the_whole_batch(long staleId)
    {
        var store = await OpenStoreAsync();
        await store.AppendAsync([Message(General, 1), Message(General, 2), Message(General, 3)], Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.AppendAsync([Message(Games, 1), Message(General, staleId), Message(General, 4)], Ct));

        Assert.Null(await store.FindRoomAsync(Games, Ct));
        Assert.Equal([1, 2, 3], Ids(await store.ReadLatestAsync(General, 10, Ct)));
        Assert.Equal(3, (await store.FindRoomAsync(General, Ct))!.MessageCount);
        await store.AppendAsync([Message(General, 4)], Ct);
        Assert.Equal(4, (await store.FindRoomAsync(General, Ct))!.LastId);
    }

    [Fact]
    public async Task Ids_out_of_order_within_a_batch_are_refused_before_anything_is_stored()
    {
        var store = await OpenStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(() =>
            store.AppendAsync([Message(Games, 1), Message(General, 2), Message(General, 2)], Ct));

        Assert.Empty(await store.ListRoomsAsync(Ct));
    }

    [Fact]
    public async Task Merging_takes_interleaved_batches_from_several_servers_and_skips_what_it_holds()
    {
        var store = await OpenStoreAsync();

        // Two servers store what their own senders sent, numbered by one shared sequencer: 1, 3, 4 here, 2, 5 there.
        await store.MergeAsync([Message(General, 1), Message(General, 3), Message(General, 4)], Ct);
        await store.MergeAsync([Message(General, 2), Message(Games, 1), Message(General, 5)], Ct);
        await store.MergeAsync([Message(General, 3), Message(General, 5)], Ct);

        Assert.Equal([1, 2, 3, 4, 5], Ids(await store.ReadLatestAsync(General, 10, Ct)));
        var general = (await store.FindRoomAsync(General, Ct))!;
        Assert.Equal((5L, 5L, 1L), (general.LastId, general.MessageCount, general.FirstId));
        Assert.Equal(1, (await store.FindRoomAsync(Games, Ct))!.LastId);
    }

    [Fact]
    public async Task A_merge_below_the_last_id_keeps_the_last_id()
    {
        var store = await OpenStoreAsync();
        await store.MergeAsync([Message(General, 7)], Ct);

        await store.MergeAsync([Message(General, 6)], Ct);

        Assert.Equal([6, 7], Ids(await store.ReadLatestAsync(General, 10, Ct)));
        Assert.Equal(7, (await store.FindRoomAsync(General, Ct))!.LastId);
    }

    [Fact]
    public async Task Latest_gives_the_newest_messages_oldest_first()
    {
        var store = await StoreWithTenMessagesAsync();

        Assert.Equal([8, 9, 10], Ids(await store.ReadLatestAsync(General, 3, Ct)));
        Assert.Equal(Enumerable.Range(1, 10), Ids(await store.ReadLatestAsync(General, 100, Ct)).Select(id => (int)id));
        Assert.Empty(await store.ReadLatestAsync(General, 0, Ct));
    }

    [Fact]
    public async Task Before_pages_backwards_and_is_empty_beyond_the_oldest()
    {
        var store = await StoreWithTenMessagesAsync();

        Assert.Equal([5, 6, 7], Ids(await store.ReadBeforeAsync(General, 8, 3, Ct)));
        Assert.Equal([2, 3, 4], Ids(await store.ReadBeforeAsync(General, 5, 3, Ct)));
        Assert.Equal([1], Ids(await store.ReadBeforeAsync(General, 2, 3, Ct)));
        Assert.Empty(await store.ReadBeforeAsync(General, 1, 3, Ct));
        Assert.Empty(await store.ReadBeforeAsync(General, -5, 3, Ct));
        Assert.Equal([9, 10], Ids(await store.ReadBeforeAsync(General, 1_000, 2, Ct)));
        Assert.Equal([9, 10], Ids(await store.ReadBeforeAsync(General, long.MaxValue, 2, Ct)));
    }

    [Fact]
    public async Task After_pages_forwards_and_is_empty_past_the_newest()
    {
        var store = await StoreWithTenMessagesAsync();

        Assert.Equal([1, 2, 3], Ids(await store.ReadAfterAsync(General, 0, 3, Ct)));
        Assert.Equal([8, 9, 10], Ids(await store.ReadAfterAsync(General, 7, 100, Ct)));
        Assert.Empty(await store.ReadAfterAsync(General, 10, 5, Ct));
        Assert.Empty(await store.ReadAfterAsync(General, 99, 5, Ct));
    }

    [Fact]
    public async Task Reads_see_only_their_own_room()
    {
        var store = await OpenStoreAsync();
        await store.AppendAsync([.. Enumerable.Range(1, 6).SelectMany(i => new[] { Message(General, i), Message(Games, i) })], Ct);

        Assert.All(await store.ReadLatestAsync(General, 100, Ct), m => Assert.Equal(General, m.Room));
        Assert.All(await store.ReadAfterAsync(Games, 0, 100, Ct), m => Assert.Equal(Games, m.Room));
        Assert.Equal(6, (await store.ReadBeforeAsync(Games, 100, 100, Ct)).Count);
    }

    [Fact]
    public async Task Negative_limits_are_refused()
    {
        var store = await OpenStoreAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ReadLatestAsync(General, -1, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.PruneAsync(0, T0, Ct));
    }

    [Fact]
    public async Task Every_room_is_listed_by_id_with_its_counts()
    {
        var store = await OpenStoreAsync();
        var lobby = await store.OpenRoomAsync(RoomId.Create("lobby"), T0, Ct);
        await store.AppendAsync([Message(Games, 1), Message(General, 4), Message(General, 7), Message(Games, 2)], Ct);

        var rooms = await store.ListRoomsAsync(Ct);

        Assert.Equal(["games", "general", "lobby"], rooms.Select(r => r.Room.Value));
        Assert.Equal([(2L, 2L, 1L), (7L, 2L, 4L), (0L, 0L, 0L)], rooms.Select(r => (r.LastId, r.MessageCount, r.FirstId)));
        Assert.Equal(lobby, rooms[2]);
    }

    [Fact]
    public async Task Pruning_by_count_keeps_each_rooms_newest_and_its_last_id()
    {
        var store = await StoreWithTenMessagesAsync();
        await store.AppendAsync([Message(Games, 1), Message(Games, 2)], Ct);

        Assert.Equal(6, await store.PruneAsync(4, T0.AddDays(-1), Ct));

        Assert.Equal([7, 8, 9, 10], Ids(await store.ReadLatestAsync(General, 100, Ct)));
        Assert.Empty(await store.ReadBeforeAsync(General, 7, 100, Ct));
        var general = await store.FindRoomAsync(General, Ct);
        Assert.Equal((10, 4, 7), (general!.LastId, general.MessageCount, general.FirstId));
        Assert.Equal(2, (await store.FindRoomAsync(Games, Ct))!.MessageCount);

        await store.AppendAsync([Message(General, 11)], Ct);
        Assert.Equal(1, await store.PruneAsync(4, T0.AddDays(-1), Ct));
        Assert.Equal([8, 9, 10, 11], Ids(await store.ReadLatestAsync(General, 100, Ct)));
    }

    [Fact]
    public async Task Pruning_by_age_keeps_the_room_so_its_ids_are_never_reused()
    {
        var store = await OpenStoreAsync();
        var opened = await store.OpenRoomAsync(General, T0, Ct);
        await store.AppendAsync([.. Enumerable.Range(1, 10).Select(i => Message(General, i, at: T0.AddMinutes(i)))], Ct);

        Assert.Equal(4, await store.PruneAsync(1_000, T0.AddMinutes(5), Ct));
        Assert.Equal([5, 6, 7, 8, 9, 10], Ids(await store.ReadLatestAsync(General, 100, Ct)));

        Assert.Equal(6, await store.PruneAsync(1_000, T0.AddDays(1), Ct));
        Assert.Equal(opened with { LastId = 10 }, await store.FindRoomAsync(General, Ct));
        Assert.Equal([opened with { LastId = 10 }], await store.ListRoomsAsync(Ct));
        Assert.Empty(await store.ReadLatestAsync(General, 100, Ct));
        Assert.Equal(opened with { LastId = 10 }, await store.OpenRoomAsync(General, T0.AddDays(2), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.AppendAsync([Message(General, 3)], Ct));
        await store.AppendAsync([Message(General, 11)], Ct);
        Assert.Equal([11], Ids(await store.ReadLatestAsync(General, 100, Ct)));
    }

    [Fact]
    public async Task Pruning_applies_both_rules_to_every_room_and_counts_what_it_deleted()
    {
        var store = await OpenStoreAsync();
        await store.AppendAsync([.. Enumerable.Range(1, 9).Select(i => Message(General, i, at: T0.AddHours(1).AddMinutes(i)))], Ct);
        await store.AppendAsync([.. Enumerable.Range(1, 8).Select(i => Message(Games, i, at: T0.AddMinutes(10 * i)))], Ct);

        // general: all recent, but only its newest 6 stay; games: sent at 10, 20, ... 80 min, two before the cut-off.
        Assert.Equal(3 + 2, await store.PruneAsync(6, T0.AddMinutes(25), Ct));

        Assert.Equal([4, 5, 6, 7, 8, 9], Ids(await store.ReadLatestAsync(General, 100, Ct)));
        Assert.Equal([3, 4, 5, 6, 7, 8], Ids(await store.ReadLatestAsync(Games, 100, Ct)));
        var rooms = await store.ListRoomsAsync(Ct);
        Assert.Equal([(8L, 6L, 3L), (9L, 6L, 4L)], rooms.Select(r => (r.LastId, r.MessageCount, r.FirstId)));
    }

    [Fact]
    public async Task Concurrent_appends_from_several_tasks_all_land_in_order()
    {
        var store = await OpenStoreAsync();
        var rooms = Enumerable.Range(0, 8).Select(i => RoomId.Create($"room-{i}")).ToArray();

        await Task.WhenAll(rooms.Select(room => Task.Run(async () =>
        {
            for (var batch = 0; batch < 25; batch++)
            {
                await store.AppendAsync([.. Enumerable.Range(1, 4).Select(i => Message(room, batch * 4 + i))], Ct);
                await store.ReadLatestAsync(room, 3, Ct);
            }
        }, Ct)));

        foreach (var room in rooms)
        {
            Assert.Equal(Enumerable.Range(1, 100), Ids(await store.ReadAfterAsync(room, 0, 1_000, Ct)).Select(id => (int)id));
            var history = await store.FindRoomAsync(room, Ct);
            Assert.Equal((100, 100, 1), (history!.LastId, history.MessageCount, history.FirstId));
        }
    }

    [Fact]
    public async Task A_batch_of_5000_messages_is_one_append()
    {
        var store = await OpenStoreAsync();
        HistoryMessage[] batch = [.. Enumerable.Range(1, 5_000).Select(i =>
            Message(i % 5 == 0 ? Games : General, i, $"message {i}", T0.AddMilliseconds(i)))];

        await store.AppendAsync(batch, Ct);

        Assert.Equal(batch.Where(m => m.Room == General), await store.ReadAfterAsync(General, 0, 10_000, Ct));
        Assert.Equal(batch.Where(m => m.Room == Games), await store.ReadLatestAsync(Games, 10_000, Ct));
        var rooms = await store.ListRoomsAsync(Ct);
        Assert.Equal([(5_000L, 1_000L, 5L), (4_999L, 4_000L, 1L)], rooms.Select(r => (r.LastId, r.MessageCount, r.FirstId)));
    }

    [Fact]
    public async Task Text_names_and_times_round_trip_exactly()
    {
        var store = await OpenStoreAsync();
        string[] texts =
        [
            "héllo wörld", "👩‍👩‍👧‍👦 family 🏳️‍🌈 flag 👍🏽", "日本語のテキスト", "עברית ומספרים 123", "e\u0301 combining",
            "line one\nline two\r\n\tindented", "'); DROP TABLE messages; --", "quote \" and backslash \\ and $1 and ?",
            string.Concat(Enumerable.Repeat("😀", 1_000)), new string('x', 1_000),
        ];
        HistoryMessage[] batch = [.. texts.Select((text, i) => new HistoryMessage(
            General, i + 1, i % 2 == 0 ? "zoë🦊" : "O'Brien", text,
            new DateTimeOffset(2026, 3, 4, 5, 6, 7, 890 + i, TimeSpan.FromHours(i % 3))))];

        await store.AppendAsync(batch, Ct);

        var read = await store.ReadAfterAsync(General, 0, 100, Ct);
        Assert.Equal(batch, read);
        Assert.Equal(batch.Select(m => m.Text), read.Select(m => m.Text), StringComparer.Ordinal);
        Assert.Equal(batch.Select(m => m.SentAt.ToUnixTimeMilliseconds()), read.Select(m => m.SentAt.ToUnixTimeMilliseconds()));
    }

    [Fact]
    public async Task Initializing_again_is_harmless()
    {
        var store = await OpenStoreAsync();
        await store.AppendAsync([Message(General, 1)], Ct);

        await store.InitializeAsync(Ct);
        var second = await OpenStoreAsync();

        Assert.Equal(Migrations.Count, await ReadSchemaVersionAsync());
        Assert.Equal([1], Ids(await second.ReadLatestAsync(General, 10, Ct)));
        await store.AppendAsync([Message(General, 2)], Ct);
        Assert.Equal(2, (await second.FindRoomAsync(General, Ct))!.MessageCount);
    }

    [Fact]
    public async Task An_older_schema_is_upgraded_in_order_and_keeps_its_data()
    {
        var old = await OpenStoreAsync();
        await old.AppendAsync([Message(General, 1)], Ct);

        // The second step only works after the first: they must run in order, in this start-up.
        var upgraded = CreateStore([.. Migrations, "CREATE TABLE upgrade_probe (n integer)", "INSERT INTO upgrade_probe VALUES (1)"]);
        await upgraded.InitializeAsync(Ct);

        Assert.Equal(Migrations.Count + 2, await ReadSchemaVersionAsync());
        Assert.Equal([1], Ids(await upgraded.ReadLatestAsync(General, 10, Ct)));
        await upgraded.AppendAsync([Message(General, 2)], Ct);
    }

    [Fact]
    public async Task A_failed_upgrade_leaves_the_schema_as_it_was()
    {
        await OpenStoreAsync();
        var broken = CreateStore([.. Migrations, "CREATE TABLE upgrade_probe (n integer)", "THIS IS NOT SQL"]);

        await Assert.ThrowsAnyAsync<Exception>(() => broken.InitializeAsync(Ct));

        Assert.Equal(Migrations.Count, await ReadSchemaVersionAsync());
        // Had the first step stayed, creating its table again would fail.
        await CreateStore([.. Migrations, "CREATE TABLE upgrade_probe (n integer)"]).InitializeAsync(Ct);
        Assert.Equal(Migrations.Count + 1, await ReadSchemaVersionAsync());
    }

    [Fact]
    public async Task A_schema_newer_than_this_build_is_refused()
    {
        await CreateStore([.. Migrations, "CREATE TABLE upgrade_probe (n integer)"]).InitializeAsync(Ct);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => CreateStore(Migrations).InitializeAsync(Ct));

        Assert.Contains($"schema version {Migrations.Count + 1}", error.Message, StringComparison.Ordinal);
    }

    private async Task<IMessageStore> OpenStoreAsync()
    {
        var store = CreateStore(Migrations);
        await store.InitializeAsync(Ct);
        return store;
    }

    private IMessageStore CreateStore(IReadOnlyList<string> migrations)
    {
        var store = NewStore(migrations);
        stores.Add(store);
        return store;
    }

    private async Task<IMessageStore> StoreWithTenMessagesAsync()
    {
        var store = await OpenStoreAsync();
        await store.AppendAsync([.. Enumerable.Range(1, 10).Select(i => Message(General, i))], Ct);
        return store;
    }

    private static HistoryMessage Message(RoomId room, long id, string? text = null, DateTimeOffset? at = null) =>
        new(room, id, "alice", text ?? $"message {id}", at ?? T0.AddSeconds(id));

    private static List<long> Ids(IEnumerable<HistoryMessage> messages) => [.. messages.Select(m => m.Id)];
}
