using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Npgsql;

namespace Chat.Infrastructure.History.Postgres;

/// <summary>
/// History in PostgreSQL. A batch of any size is one statement over arrays, so its text never changes and it stays
/// prepared on each pooled connection, plus the commit: two round trips (Npgsql sends BEGIN with the statement).
/// </summary>
public sealed class PostgresMessageStore : IMessageStore
{
    /// <summary>The connection string's name, as Aspire's <c>AddDatabase("chatdb")</c> injects it.</summary>
    public const string ConnectionStringName = "chatdb";

    /// <summary>The schema, one script per version (rows of <c>schema_version</c>), applied in order, never edited once shipped.</summary>
    internal static readonly IReadOnlyList<string> Migrations =
    [
        // COLLATE "C": room ids are ASCII, so byte order is right and the key needs no locale-aware comparisons.
        """
        CREATE TABLE rooms (
            room text COLLATE "C" PRIMARY KEY,
            epoch text NOT NULL,
            last_id bigint NOT NULL,
            message_count bigint NOT NULL,
            created_at bigint NOT NULL
        );
        CREATE TABLE messages (
            room text COLLATE "C" NOT NULL,
            id bigint NOT NULL,
            sender text NOT NULL,
            text text NOT NULL,
            sent_at bigint NOT NULL,
            PRIMARY KEY (room, id)
        );
        """,
    ];

    // Any constant will do as long as nothing else in the database takes the same advisory lock.
    private const long MigrationLock = 0x43_68_61_74_48_69_73; // "ChatHis"

    private const string SelectRoom = """
        SELECT room, epoch, last_id, message_count, created_at,
               coalesce((SELECT id FROM messages m WHERE m.room = r.room ORDER BY id LIMIT 1), 0)
        FROM rooms r
        """;

    private const string SelectLatest =
        "SELECT id, sender, text, sent_at FROM messages WHERE room = $1 ORDER BY id DESC LIMIT $3";

    private const string SelectBefore =
        "SELECT id, sender, text, sent_at FROM messages WHERE room = $1 AND id < $2 ORDER BY id DESC LIMIT $3";

    private const string SelectAfter =
        "SELECT id, sender, text, sent_at FROM messages WHERE room = $1 AND id > $2 ORDER BY id LIMIT $3";

    // One statement: the rooms advance, then the messages of the rooms that advanced are inserted. The upsert's WHERE
    // refuses ids at or below a room's last id; such a room is missing from the rooms returned, and the caller rolls back.
    private const string Append = """
        WITH b (room, epoch, first_id, last_id, n, created_at) AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])),
        advanced AS (
            INSERT INTO rooms AS r (room, epoch, last_id, message_count, created_at)
            SELECT room, epoch, last_id, n, created_at FROM b
            ON CONFLICT (room) DO UPDATE
            SET last_id = excluded.last_id, message_count = r.message_count + excluded.message_count
            WHERE r.last_id < (SELECT b.first_id FROM b WHERE b.room = excluded.room)
            RETURNING r.room),
        inserted AS (
            INSERT INTO messages (room, id, sender, text, sent_at)
            SELECT * FROM unnest($7::text[], $8::bigint[], $9::text[], $10::text[], $11::bigint[]) AS m (room, id, sender, text, sent_at)
            WHERE m.room IN (SELECT room FROM advanced))
        SELECT array_agg(room) FROM advanced
        """;

    // Messages numbered by the shared sequencer: those already held are skipped, and each room's last id and count
    // follow what was new (a room first seen here gets a random epoch, unused while the servers share one).
    private const string Merge = """
        WITH m AS (
            INSERT INTO messages (room, id, sender, text, sent_at)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
            ON CONFLICT (room, id) DO NOTHING
            RETURNING room, id, sent_at)
        INSERT INTO rooms AS r (room, epoch, last_id, message_count, created_at)
        SELECT room, replace(gen_random_uuid()::text, '-', ''), max(id), count(*), min(sent_at) FROM m GROUP BY room
        ON CONFLICT (room) DO UPDATE
        SET last_id = greatest(r.last_id, excluded.last_id), message_count = r.message_count + excluded.message_count
        """;

    // Both rules in one range scan of the room's rows: older than the cut-off, or below its newest N (the subquery is
    // NULL when the room holds fewer, and "id < NULL" keeps the row); the count follows in the same statement.
    private const string PruneRoom = """
        WITH d AS (
            DELETE FROM messages
            WHERE room = $1 AND (sent_at < $2 OR id <
                (SELECT id FROM messages WHERE room = $1 ORDER BY id DESC OFFSET $3 LIMIT 1))
            RETURNING 1),
        u AS (UPDATE rooms SET message_count = message_count - (SELECT count(*) FROM d) WHERE room = $1)
        SELECT count(*) FROM d
        """;

    private readonly NpgsqlDataSource dataSource;
    private readonly IReadOnlyList<string> migrations;

    public PostgresMessageStore(NpgsqlDataSource dataSource)
        : this(dataSource, Migrations)
    {
    }

    internal PostgresMessageStore(NpgsqlDataSource dataSource, IReadOnlyList<string> migrations)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        this.dataSource = dataSource;
        this.migrations = migrations;
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Held until commit: a second instance starting at once waits here, then finds the schema current.
        await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({MigrationLock})", cancellationToken);
        await ExecuteAsync(connection, """
            CREATE TABLE IF NOT EXISTS schema_version (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, cancellationToken);
        await using (var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_version", connection))
        {
            var current = (int)(await read.ExecuteScalarAsync(cancellationToken))!;
            if (current > migrations.Count)
            {
                throw new InvalidOperationException(
                    $"The history database {connection.Database} has schema version {current}; this build knows versions up to {migrations.Count}.");
            }

            for (var version = current + 1; version <= migrations.Count; version++)
            {
                await ExecuteAsync(connection, migrations[version - 1], cancellationToken);
                await using var record = new NpgsqlCommand("INSERT INTO schema_version (version) VALUES ($1)", connection)
                {
                    Parameters = { new NpgsqlParameter<int> { TypedValue = version } },
                };
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<RoomHistory> OpenRoomAsync(RoomId room, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (await FindRoomAsync(room, cancellationToken) is { } known)
        {
            return known;
        }

        await using (var create = dataSource.CreateCommand("""
            INSERT INTO rooms (room, epoch, last_id, message_count, created_at) VALUES ($1, $2, 0, 0, $3)
            ON CONFLICT (room) DO NOTHING
            """))
        {
            create.Parameters.Add(new NpgsqlParameter<string> { TypedValue = room.Value });
            create.Parameters.Add(new NpgsqlParameter<string> { TypedValue = RoomEpoch.New() });
            create.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now.ToUnixTimeMilliseconds() });
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        // A new statement sees the row whoever inserted it, this call or a concurrent one.
        return await FindRoomAsync(room, cancellationToken)
            ?? throw new InvalidOperationException($"Room {room} was created but cannot be read back.");
    }

    public async Task<RoomHistory?> FindRoomAsync(RoomId room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(SelectRoom + " WHERE room = $1", connection)
        {
            Parameters = { new NpgsqlParameter<string> { TypedValue = room.Value } },
        };
        await command.PrepareAsync(cancellationToken);
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
        var (roomIds, epochs, firstIds, lastIds, counts, createdAts) = (new string[rooms.Count], new string[rooms.Count],
            new long[rooms.Count], new long[rooms.Count], new long[rooms.Count], new long[rooms.Count]);
        for (var i = 0; i < rooms.Count; i++)
        {
            var tally = rooms[i];
            (roomIds[i], epochs[i], firstIds[i], lastIds[i], counts[i], createdAts[i]) = (tally.Room.Value,
                RoomEpoch.New(), tally.FirstId, tally.LastId, tally.Count, tally.FirstSentAt.ToUnixTimeMilliseconds());
        }

        var (messageRooms, ids, senders, texts, sentAts) = (new string[batch.Count], new long[batch.Count],
            new string[batch.Count], new string[batch.Count], new long[batch.Count]);
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i];
            (messageRooms[i], ids[i], senders[i], texts[i], sentAts[i]) = (message.Room.Value, message.Id,
                message.Sender, message.Text, message.SentAt.ToUnixTimeMilliseconds());
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var append = new NpgsqlCommand(Append, connection, transaction)
        {
            Parameters =
            {
                new NpgsqlParameter<string[]> { TypedValue = roomIds },
                new NpgsqlParameter<string[]> { TypedValue = epochs },
                new NpgsqlParameter<long[]> { TypedValue = firstIds },
                new NpgsqlParameter<long[]> { TypedValue = lastIds },
                new NpgsqlParameter<long[]> { TypedValue = counts },
                new NpgsqlParameter<long[]> { TypedValue = createdAts },
                new NpgsqlParameter<string[]> { TypedValue = messageRooms },
                new NpgsqlParameter<long[]> { TypedValue = ids },
                new NpgsqlParameter<string[]> { TypedValue = senders },
                new NpgsqlParameter<string[]> { TypedValue = texts },
                new NpgsqlParameter<long[]> { TypedValue = sentAts },
            },
        };
        await append.PrepareAsync(cancellationToken);
        // NULL when no room advanced.
        var advanced = await append.ExecuteScalarAsync(cancellationToken) as string[] ?? [];
        if (advanced.Length != rooms.Count)
        {
            throw rooms.First(r => !advanced.Contains(r.Room.Value)).StaleIds();
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task MergeAsync(IReadOnlyList<HistoryMessage> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        var (rooms, ids, senders, texts, sentAts) = (new string[batch.Count], new long[batch.Count],
            new string[batch.Count], new string[batch.Count], new long[batch.Count]);
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i];
            (rooms[i], ids[i], senders[i], texts[i], sentAts[i]) = (message.Room.Value, message.Id,
                message.Sender, message.Text, message.SentAt.ToUnixTimeMilliseconds());
        }

        await using var merge = dataSource.CreateCommand(Merge);
        merge.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = rooms });
        merge.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids });
        merge.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = senders });
        merge.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = texts });
        merge.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = sentAts });
        await merge.ExecuteNonQueryAsync(cancellationToken);
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
        await using var command = dataSource.CreateCommand(SelectRoom + " ORDER BY room");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await HistoryRows.ReadRoomsAsync(reader, cancellationToken);
    }

    public async Task<long> PruneAsync(
        int maxMessagesPerRoom, DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessagesPerRoom);
        List<string> rooms = [];
        await using (var list = dataSource.CreateCommand("SELECT room FROM rooms WHERE message_count > 0"))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rooms.Add(reader.GetString(0));
            }
        }

        // One statement, so one short transaction, per room: appends to other rooms never wait for it.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var prune = new NpgsqlCommand(PruneRoom, connection)
        {
            Parameters =
            {
                new NpgsqlParameter<string>(),
                new NpgsqlParameter<long> { TypedValue = olderThan.ToUnixTimeMilliseconds() },
                new NpgsqlParameter<long> { TypedValue = maxMessagesPerRoom - 1L },
            },
        };
        await prune.PrepareAsync(cancellationToken);
        long deleted = 0;
        foreach (var room in rooms)
        {
            ((NpgsqlParameter<string>)prune.Parameters[0]).TypedValue = room;
            deleted += (long)(await prune.ExecuteScalarAsync(cancellationToken))!;
        }

        return deleted;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
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

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = room.Value },
                new NpgsqlParameter<long> { TypedValue = id },
                new NpgsqlParameter<int> { TypedValue = limit },
            },
        };
        await command.PrepareAsync(cancellationToken);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await HistoryRows.ReadMessagesAsync(reader, room, newestFirst, cancellationToken);
    }
}
