using System.Globalization;
using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Microsoft.Data.Sqlite;

namespace Chat.Infrastructure.History.Sqlite;

/// <summary>
/// History in a SQLite file. SQLite takes one writer at a time, so every write goes through one connection behind a
/// gate, with its statements prepared once; reads use pooled connections of their own, which WAL lets run beside it.
/// Microsoft.Data.Sqlite does its I/O synchronously: the Async methods complete on the caller's thread, except while
/// waiting for the gate.
/// </summary>
public sealed class SqliteMessageStore : IMessageStore, IAsyncDisposable, IDisposable
{
    /// <summary>The schema, one script per version (<c>PRAGMA user_version</c>), applied in order, never edited once shipped.</summary>
    internal static readonly IReadOnlyList<string> Migrations =
    [
        // WITHOUT ROWID: rows are clustered by (room, id), so a room's window is one contiguous range read.
        """
        CREATE TABLE rooms (
            room TEXT NOT NULL PRIMARY KEY,
            epoch TEXT NOT NULL,
            last_id INTEGER NOT NULL,
            message_count INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE messages (
            room TEXT NOT NULL,
            id INTEGER NOT NULL,
            sender TEXT NOT NULL,
            text TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            PRIMARY KEY (room, id)
        ) WITHOUT ROWID;
        """,
    ];

    private const string SelectRoom = """
        SELECT room, epoch, last_id, message_count, created_at,
               coalesce((SELECT id FROM messages m WHERE m.room = r.room ORDER BY id LIMIT 1), 0)
        FROM rooms r
        """;

    private const string SelectLatest =
        "SELECT id, sender, text, sent_at FROM messages WHERE room = $room ORDER BY id DESC LIMIT $limit";

    private const string SelectBefore =
        "SELECT id, sender, text, sent_at FROM messages WHERE room = $room AND id < $id ORDER BY id DESC LIMIT $limit";

    private const string SelectAfter =
        "SELECT id, sender, text, sent_at FROM messages WHERE room = $room AND id > $id ORDER BY id LIMIT $limit";

    private readonly string path;
    private readonly IReadOnlyList<string> migrations;
    private readonly string writerConnectionString;
    private readonly string readerConnectionString;
    private readonly SemaphoreSlim writeGate = new(1, 1);
    private SqliteConnection? writer;
    private WriterCommands? commands;

    /// <param name="path">The database file; its folder is created if missing.</param>
    public SqliteMessageStore(string path)
        : this(path, Migrations)
    {
    }

    internal SqliteMessageStore(string path, IReadOnlyList<string> migrations)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        this.path = System.IO.Path.GetFullPath(path);
        this.migrations = migrations;
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = this.path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // Microsoft.Data.Sqlite retries a busy database until the command timeout, in seconds.
            DefaultTimeout = 30,
            Pooling = false,
        };
        writerConnectionString = builder.ToString();
        builder.Pooling = true;
        readerConnectionString = builder.ToString();
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await writeGate.WaitAsync(cancellationToken);
        try
        {
            writer ??= OpenWriter();
            Migrate(writer);
            commands ??= new WriterCommands(writer);
        }
        finally
        {
            writeGate.Release();
        }
    }

    public async Task<RoomHistory> OpenRoomAsync(RoomId room, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (await FindRoomAsync(room, cancellationToken) is { } known)
        {
            return known;
        }

        await writeGate.WaitAsync(cancellationToken);
        try
        {
            var create = Commands.CreateRoom;
            create.Parameters["$room"].Value = room.Value;
            create.Parameters["$epoch"].Value = RoomEpoch.New();
            create.Parameters["$created_at"].Value = now.ToUnixTimeMilliseconds();
            create.ExecuteNonQuery();
        }
        finally
        {
            writeGate.Release();
        }

        return await FindRoomAsync(room, cancellationToken)
            ?? throw new InvalidOperationException($"Room {room} was created but cannot be read back from {path}.");
    }

    public async Task<RoomHistory?> FindRoomAsync(RoomId room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = SelectRoom + " WHERE room = $room";
        command.Parameters.AddWithValue("$room", room.Value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? HistoryRows.ReadRoom(reader) : null;
    }

    public async Task AppendAsync(IReadOnlyList<HistoryMessage> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        var rooms = RoomTally.ByRoom(batch);
        await writeGate.WaitAsync(cancellationToken);
        try
        {
            var (upsert, insert) = (Commands.AdvanceRoom, Commands.InsertMessage);
            using var transaction = writer!.BeginTransaction();
            upsert.Transaction = transaction;
            foreach (var tally in rooms)
            {
                upsert.Parameters["$room"].Value = tally.Room.Value;
                upsert.Parameters["$epoch"].Value = RoomEpoch.New();
                upsert.Parameters["$first_id"].Value = tally.FirstId;
                upsert.Parameters["$last_id"].Value = tally.LastId;
                upsert.Parameters["$count"].Value = tally.Count;
                upsert.Parameters["$created_at"].Value = tally.FirstSentAt.ToUnixTimeMilliseconds();
                if (upsert.ExecuteNonQuery() == 0)
                {
                    throw tally.StaleIds();
                }
            }

            insert.Transaction = transaction;
            var (room, id, sender, text, sentAt) = (insert.Parameters["$room"], insert.Parameters["$id"],
                insert.Parameters["$sender"], insert.Parameters["$text"], insert.Parameters["$sent_at"]);
            foreach (var message in batch)
            {
                room.Value = message.Room.Value;
                id.Value = message.Id;
                sender.Value = message.Sender;
                text.Value = message.Text;
                sentAt.Value = message.SentAt.ToUnixTimeMilliseconds();
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        finally
        {
            writeGate.Release();
        }
    }

    public async Task MergeAsync(IReadOnlyList<HistoryMessage> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        await writeGate.WaitAsync(cancellationToken);
        try
        {
            var (insert, merge) = (Commands.MergeMessage, Commands.MergeRoom);
            using var transaction = writer!.BeginTransaction();
            insert.Transaction = transaction;
            var added = new Dictionary<RoomId, (long LastId, long Count, long FirstSentAt)>();
            foreach (var message in batch)
            {
                insert.Parameters["$room"].Value = message.Room.Value;
                insert.Parameters["$id"].Value = message.Id;
                insert.Parameters["$sender"].Value = message.Sender;
                insert.Parameters["$text"].Value = message.Text;
                insert.Parameters["$sent_at"].Value = message.SentAt.ToUnixTimeMilliseconds();
                if (insert.ExecuteNonQuery() == 1)
                {
                    var sentAt = message.SentAt.ToUnixTimeMilliseconds();
                    added[message.Room] = added.TryGetValue(message.Room, out var tally)
                        ? (Math.Max(tally.LastId, message.Id), tally.Count + 1, Math.Min(tally.FirstSentAt, sentAt))
                        : (message.Id, 1, sentAt);
                }
            }

            merge.Transaction = transaction;
            foreach (var (room, tally) in added)
            {
                merge.Parameters["$room"].Value = room.Value;
                merge.Parameters["$epoch"].Value = RoomEpoch.New();
                merge.Parameters["$last_id"].Value = tally.LastId;
                merge.Parameters["$count"].Value = tally.Count;
                merge.Parameters["$created_at"].Value = tally.FirstSentAt;
                merge.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        finally
        {
            writeGate.Release();
        }
    }

    public Task<IReadOnlyList<HistoryMessage>> ReadLatestAsync(
        RoomId room, int limit, CancellationToken cancellationToken) =>
        ReadAsync(SelectLatest, room, 0, limit, newestFirst: true, cancellationToken);

    public Task<IReadOnlyList<HistoryMessage>> ReadBeforeAsync(
        RoomId room, long beforeId, int limit, CancellationToken cancellationToken) =>
        ReadAsync(SelectBefore, room, beforeId, limit, newestFirst: true, cancellationToken);

    public Task<IReadOnlyList<HistoryMessage>> ReadAfterAsync(
        RoomId room, long afterId, int limit, CancellationToken cancellationToken) =>
        ReadAsync(SelectAfter, room, afterId, limit, newestFirst: false, cancellationToken);

    public async Task<IReadOnlyList<RoomHistory>> ListRoomsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = SelectRoom + " ORDER BY room";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await HistoryRows.ReadRoomsAsync(reader, cancellationToken);
    }

    public async Task<long> PruneAsync(
        int maxMessagesPerRoom, DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessagesPerRoom);
        List<string> rooms = [];
        await using (var connection = await OpenReaderAsync(cancellationToken))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT room FROM rooms WHERE message_count > 0";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rooms.Add(reader.GetString(0));
            }
        }

        long deleted = 0;
        foreach (var room in rooms)
        {
            // One short transaction per room, so appends wait for one room's pruning, never for all of it.
            await writeGate.WaitAsync(cancellationToken);
            try
            {
                var (prune, uncount) = (Commands.PruneRoom, Commands.UncountMessages);
                using var transaction = writer!.BeginTransaction();
                prune.Transaction = transaction;
                prune.Parameters["$room"].Value = room;
                prune.Parameters["$keep_offset"].Value = maxMessagesPerRoom - 1;
                prune.Parameters["$older_than"].Value = olderThan.ToUnixTimeMilliseconds();
                var count = prune.ExecuteNonQuery();
                if (count > 0)
                {
                    uncount.Transaction = transaction;
                    uncount.Parameters["$room"].Value = room;
                    uncount.Parameters["$count"].Value = count;
                    uncount.ExecuteNonQuery();
                }

                transaction.Commit();
                deleted += count;
            }
            finally
            {
                writeGate.Release();
            }
        }

        return deleted;
    }

    public void Dispose()
    {
        commands?.Dispose();
        writer?.Dispose();
        // Readers' pooled connections would otherwise keep the file open after the store is gone.
        using (var pooled = new SqliteConnection(readerConnectionString))
        {
            SqliteConnection.ClearPool(pooled);
        }

        writeGate.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private WriterCommands Commands =>
        commands ?? throw new InvalidOperationException("Call InitializeAsync before using the history store.");

    private SqliteConnection OpenWriter()
    {
        if (System.IO.Path.GetDirectoryName(path) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        var connection = new SqliteConnection(writerConnectionString);
        try
        {
            connection.Open();
            // busy_timeout: another process's writer is waited for in SQLite itself, not polled.
            Execute(connection, "PRAGMA busy_timeout = 30000");
            // WAL: readers never block the writer nor it them. synchronous=NORMAL: a commit is in the OS before it
            // returns, so a killed process loses nothing; only an OS crash or power loss can drop the last commits
            // (FULL would fsync every group commit for that).
            Execute(connection, "PRAGMA synchronous = NORMAL");
            var mode = Execute(connection, "PRAGMA journal_mode = WAL");
            if (!string.Equals(mode as string, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"SQLite could not put {path} in WAL mode (it is in '{mode}').");
            }

            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Migrate(SqliteConnection connection)
    {
        // BEGIN IMMEDIATE takes the write lock first: a second process starting at once waits, then finds it done.
        using var transaction = connection.BeginTransaction(deferred: false);
        var current = Convert.ToInt32(Execute(connection, "PRAGMA user_version", transaction), CultureInfo.InvariantCulture);
        if (current > migrations.Count)
        {
            throw new InvalidOperationException(
                $"The history database {path} has schema version {current}; this build knows versions up to {migrations.Count}.");
        }

        for (var version = current + 1; version <= migrations.Count; version++)
        {
            using var step = connection.CreateCommand();
            step.Transaction = transaction;
            step.CommandText = migrations[version - 1];
            step.ExecuteNonQuery();
            Execute(connection, $"PRAGMA user_version = {version.ToString(CultureInfo.InvariantCulture)}", transaction);
        }

        transaction.Commit();
    }

    private static object? Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command.ExecuteScalar();
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(readerConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task<IReadOnlyList<HistoryMessage>> ReadAsync(
        string sql, RoomId room, long id, int limit, bool newestFirst, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return [];
        }

        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$room", room.Value);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await HistoryRows.ReadMessagesAsync(reader, room, newestFirst, cancellationToken);
    }

    /// <summary>The writer's statements, prepared once on its connection.</summary>
    private sealed class WriterCommands : IDisposable
    {
        public WriterCommands(SqliteConnection connection)
        {
            CreateRoom = Prepare(connection, """
                INSERT INTO rooms (room, epoch, last_id, message_count, created_at)
                VALUES ($room, $epoch, 0, 0, $created_at)
                ON CONFLICT (room) DO NOTHING
                """, ("$room", SqliteType.Text), ("$epoch", SqliteType.Text), ("$created_at", SqliteType.Integer));

            // The WHERE refuses ids at or below the room's last id: no update, no row changed, the batch rolls back.
            AdvanceRoom = Prepare(connection, """
                INSERT INTO rooms (room, epoch, last_id, message_count, created_at)
                VALUES ($room, $epoch, $last_id, $count, $created_at)
                ON CONFLICT (room) DO UPDATE
                SET last_id = excluded.last_id, message_count = message_count + excluded.message_count
                WHERE last_id < $first_id
                """, ("$room", SqliteType.Text), ("$epoch", SqliteType.Text), ("$first_id", SqliteType.Integer),
                ("$last_id", SqliteType.Integer), ("$count", SqliteType.Integer), ("$created_at", SqliteType.Integer));

            InsertMessage = Prepare(connection, """
                INSERT INTO messages (room, id, sender, text, sent_at) VALUES ($room, $id, $sender, $text, $sent_at)
                """, ("$room", SqliteType.Text), ("$id", SqliteType.Integer), ("$sender", SqliteType.Text),
                ("$text", SqliteType.Text), ("$sent_at", SqliteType.Integer));

            // Messages numbered by the shared sequencer (several servers, one store): one already held is skipped.
            MergeMessage = Prepare(connection, """
                INSERT OR IGNORE INTO messages (room, id, sender, text, sent_at) VALUES ($room, $id, $sender, $text, $sent_at)
                """, ("$room", SqliteType.Text), ("$id", SqliteType.Integer), ("$sender", SqliteType.Text),
                ("$text", SqliteType.Text), ("$sent_at", SqliteType.Integer));

            MergeRoom = Prepare(connection, """
                INSERT INTO rooms (room, epoch, last_id, message_count, created_at)
                VALUES ($room, $epoch, $last_id, $count, $created_at)
                ON CONFLICT (room) DO UPDATE
                SET last_id = max(last_id, excluded.last_id), message_count = message_count + excluded.message_count
                """, ("$room", SqliteType.Text), ("$epoch", SqliteType.Text), ("$last_id", SqliteType.Integer),
                ("$count", SqliteType.Integer), ("$created_at", SqliteType.Integer));

            // Both rules in one range scan of the room's rows: older than the cut-off, or below its newest N
            // (the subquery is NULL when the room holds fewer, and "id < NULL" keeps the row).
            PruneRoom = Prepare(connection, """
                DELETE FROM messages
                WHERE room = $room AND (sent_at < $older_than OR id <
                    (SELECT id FROM messages WHERE room = $room ORDER BY id DESC LIMIT 1 OFFSET $keep_offset))
                """, ("$room", SqliteType.Text), ("$older_than", SqliteType.Integer), ("$keep_offset", SqliteType.Integer));

            UncountMessages = Prepare(connection, "UPDATE rooms SET message_count = message_count - $count WHERE room = $room",
                ("$room", SqliteType.Text), ("$count", SqliteType.Integer));
        }

        public SqliteCommand CreateRoom { get; }

        public SqliteCommand AdvanceRoom { get; }

        public SqliteCommand InsertMessage { get; }

        public SqliteCommand MergeMessage { get; }

        public SqliteCommand MergeRoom { get; }

        public SqliteCommand PruneRoom { get; }

        public SqliteCommand UncountMessages { get; }

        public void Dispose()
        {
            CreateRoom.Dispose();
            AdvanceRoom.Dispose();
            InsertMessage.Dispose();
            MergeMessage.Dispose();
            MergeRoom.Dispose();
            PruneRoom.Dispose();
            UncountMessages.Dispose();
        }

        private static SqliteCommand Prepare(
            SqliteConnection connection, string sql, params (string Name, SqliteType Type)[] parameters)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, type) in parameters)
            {
                command.Parameters.Add(name, type);
            }

            command.Prepare();
            return command;
        }
    }
}
