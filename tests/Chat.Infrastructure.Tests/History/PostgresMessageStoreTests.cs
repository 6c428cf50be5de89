using Chat.Application.Abstractions;
using Chat.Infrastructure.History.Postgres;
using Chat.Testing;
using Npgsql;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace Chat.Infrastructure.Tests.History;

/// <summary>The contract against a real PostgreSQL server, a new database per test.</summary>
public sealed class PostgresMessageStoreContractTests(PostgresServer server) : MessageStoreContract
{
    private readonly List<NpgsqlDataSource> dataSources = [];
    private string? connectionString;

    protected override IReadOnlyList<string> Migrations => PostgresMessageStore.Migrations;

    public override async ValueTask InitializeAsync() =>
        connectionString = await server.CreateDatabaseAsync(TestContext.Current.CancellationToken);

    // A data source per store, as each process would have its own.
    protected override IMessageStore NewStore(IReadOnlyList<string> migrations)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString!);
        dataSources.Add(dataSource);
        return new PostgresMessageStore(dataSource, migrations);
    }

    protected override Task<int> ReadSchemaVersionAsync() =>
        PostgresDatabase.ScalarAsync<int>(connectionString!, "SELECT coalesce(max(version), 0) FROM schema_version");

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var dataSource in dataSources)
        {
            await dataSource.DisposeAsync();
        }
    }
}

/// <summary>What only PostgreSQL can be asked: several instances migrating one database at once.</summary>
public sealed class PostgresMessageStoreTests(PostgresServer server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Instances_starting_at_once_on_a_new_database_apply_each_migration_once()
    {
        var connectionString = await server.CreateDatabaseAsync(Ct);
        var dataSources = Enumerable.Range(0, 6).Select(_ => NpgsqlDataSource.Create(connectionString)).ToArray();
        try
        {
            await Task.WhenAll(dataSources.Select(d => Task.Run(() => new PostgresMessageStore(d).InitializeAsync(Ct), Ct)));

            Assert.Equal(PostgresMessageStore.Migrations.Count,
                await PostgresDatabase.ScalarAsync<long>(connectionString, "SELECT count(*) FROM schema_version"));
            Assert.Equal(PostgresMessageStore.Migrations.Count,
                await PostgresDatabase.ScalarAsync<int>(connectionString, "SELECT max(version) FROM schema_version"));
        }
        finally
        {
            foreach (var dataSource in dataSources)
            {
                await dataSource.DisposeAsync();
            }
        }
    }
}

internal static class PostgresDatabase
{
    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
