using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Chat.Infrastructure.History.Sqlite;
using Microsoft.Data.Sqlite;

namespace Chat.Infrastructure.Tests.History;

/// <summary>The contract against a real SQLite file in a temporary folder.</summary>
public sealed class SqliteMessageStoreContractTests : MessageStoreContract
{
    private readonly string folder = Directory.CreateTempSubdirectory("chat-history-").FullName;

    protected override IReadOnlyList<string> Migrations => SqliteMessageStore.Migrations;

    protected override IMessageStore NewStore(IReadOnlyList<string> migrations) =>
        new SqliteMessageStore(Path.Combine(folder, "chat.db"), migrations);

    protected override Task<int> ReadSchemaVersionAsync() =>
        SqliteFile.ScalarAsync<int>(Path.Combine(folder, "chat.db"), "PRAGMA user_version");

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }
}

/// <summary>What only SQLite can be asked: the file's mode, and sharing it with another writer.</summary>
public sealed class SqliteMessageStoreTests : IDisposable
{
    private static readonly RoomId General = RoomId.Create("general");
    private readonly string folder = Directory.CreateTempSubdirectory("chat-history-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string DatabasePath => Path.Combine(folder, "chat.db");

    [Fact]
    public async Task The_file_is_created_with_its_folder_in_wal_mode()
    {
        var path = Path.Combine(folder, "data", "nested", "chat.db");
        await using var store = new SqliteMessageStore(path);

        await store.InitializeAsync(Ct);

        Assert.True(File.Exists(path));
        Assert.Equal("wal", await SqliteFile.ScalarAsync<string>(path, "PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Readers_go_on_while_another_writer_holds_the_file_and_appends_wait_for_it()
    {
        await using var store = new SqliteMessageStore(DatabasePath);
        await store.InitializeAsync(Ct);
        await store.AppendAsync([Message(1)], Ct);
        await using var other = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await other.OpenAsync(Ct);
        await using var transaction = (SqliteTransaction)await other.BeginTransactionAsync(Ct);
        await using (var insert = other.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO messages VALUES ('elsewhere', 1, 'bob', 'hi', 0)";
            await insert.ExecuteNonQueryAsync(Ct);
        }

        var read = await store.ReadLatestAsync(General, 10, Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);
        // Microsoft.Data.Sqlite works synchronously: the append waits for the lock on a thread of its own.
        var append = Task.Run(() => store.AppendAsync([Message(2)], Ct), Ct);
        await transaction.CommitAsync(Ct);
        await append.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal([1], read.Select(m => m.Id));
        Assert.Equal([1, 2], (await store.ReadLatestAsync(General, 10, Ct)).Select(m => m.Id));
    }

    [Fact]
    public async Task Stores_initializing_one_new_file_at_once_all_succeed()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => new SqliteMessageStore(DatabasePath)).ToArray();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(() => s.InitializeAsync(Ct), Ct)));

            Assert.Equal(SqliteMessageStore.Migrations.Count, await SqliteFile.ScalarAsync<int>(DatabasePath, "PRAGMA user_version"));
            await stores[0].AppendAsync([Message(1)], Ct);
            Assert.Single(await stores[3].ReadLatestAsync(General, 10, Ct));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static HistoryMessage Message(long id) =>
        new(General, id, "alice", $"message {id}", DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000 + id));
}

internal static class SqliteFile
{
    public static async Task<T> ScalarAsync<T>(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}
