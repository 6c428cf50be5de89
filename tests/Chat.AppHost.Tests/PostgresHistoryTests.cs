using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Chat.Testing;
using Npgsql;

namespace Chat.AppHost.Tests;

/// <summary>
/// The AppHost with history in PostgreSQL, given as an existing server (<c>ConnectionStrings:chatdb</c>), the way a
/// machine without a container engine runs it: here Debian's PostgreSQL, started by the fixture.
/// </summary>
public sealed class PostgresHistoryTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private static CancellationToken CancellationToken => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_message_sent_through_web_is_stored_in_the_postgresql_database_the_apphost_was_given()
    {
        var database = await postgres.CreateDatabaseAsync(CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Chat_AppHost>(
            [$"--ConnectionStrings:chatdb={database}"], timeout.Token);
        await using var app = await builder.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("web", timeout.Token);
        var web = app.GetEndpoint("web", "http");
        var origin = web.GetLeftPart(UriPartial.Authority);

        var text = $"kept in postgres {Guid.NewGuid():N}";
        await using (var alice = await ChatClient.ConnectAsync(web, "alice", "pg", origin))
        {
            await alice.NextEventAsync("user_joined");
            await alice.SendMessageAsync(text);
            var echo = await alice.NextEventAsync("chat_message");
            Assert.Equal(1, echo.GetProperty("id").GetInt64());
            await alice.CloseAsync();
        }

        // Durable by default: stored before anyone saw it.
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(CancellationToken);
        await using var query = new NpgsqlCommand("SELECT count(*) FROM messages WHERE text = @text", connection);
        query.Parameters.AddWithValue("text", text);
        Assert.Equal(1L, await query.ExecuteScalarAsync(CancellationToken));

        // A newcomer gets it as history, read back from PostgreSQL.
        await using var bob = await ChatClient.ConnectAsync(web, "bob", "pg", origin);
        await bob.NextEventAsync("user_joined");
        var history = await bob.NextEventAsync("chat_message");
        Assert.Equal(text, history.GetProperty("message").GetString());
        Assert.True(history.GetProperty("history").GetBoolean());
    }
}
