using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Chat.Testing;
using StackExchange.Redis;

namespace Chat.AppHost.Tests;

/// <summary>
/// The AppHost with two api replicas and Redis given as an existing server (<c>ConnectionStrings:cache</c>), as a
/// machine without a container engine runs it: here Debian's redis-server, started by the fixture. DCP balances the
/// sockets over the replicas; which replica holds each name is read from presence in Redis.
/// </summary>
public sealed class ReplicasTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static CancellationToken CancellationToken => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_clients_that_landed_on_different_replicas_chat()
    {
        var history = Directory.CreateTempSubdirectory("chat-apphost-replicas-").FullName;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(180));
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Chat_AppHost>(
                [$"--ConnectionStrings:cache={redis.ConnectionString}", "--Chat:Replicas=2"], timeout.Token);
            ChatAppHost.KeepHistoryIn(builder, history);
            await using var app = await builder.BuildAsync(timeout.Token);
            await app.StartAsync(timeout.Token);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("web", timeout.Token);
            var web = app.GetEndpoint("web", "http");
            var origin = web.GetLeftPart(UriPartial.Authority);

            await using var presence = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
            await using var alice = await ChatClient.ConnectAsync(web, "alice", "replicas", origin);
            await alice.NextEventAsync("user_joined");
            var aliceReplica = await ReplicaOfAsync(presence, "alice");

            // New sockets until one lands on the other replica (DCP balances them; a handful is plenty).
            ChatClient? bob = null;
            for (var attempt = 0; attempt < 20 && bob is null; attempt++)
            {
                var candidate = await ChatClient.ConnectAsync(web, $"bob{attempt}", "replicas", origin);
                await candidate.NextEventAsync("user_joined");
                if (await ReplicaOfAsync(presence, $"bob{attempt}") != aliceReplica)
                {
                    bob = candidate;
                }
                else
                {
                    await candidate.CloseAsync();
                    await candidate.DisposeAsync();
                    await alice.NextEventAsync("user_left");
                }
            }

            Assert.NotNull(bob);
            await using (bob)
            {
                Assert.StartsWith("bob", (await alice.NextEventAsync("user_joined")).GetProperty("user_name").GetString(), StringComparison.Ordinal);
                await alice.SendMessageAsync("hello from one replica");
                var heard = await bob.NextEventAsync("chat_message");
                Assert.Equal("hello from one replica", heard.GetProperty("message").GetString());
                await bob.SendMessageAsync("and back from the other");
                await alice.NextEventAsync("chat_message"); // her own, first
                var answer = await alice.NextEventAsync("chat_message");
                Assert.Equal("and back from the other", answer.GetProperty("message").GetString());
                Assert.Equal(heard.GetProperty("id").GetInt64() + 1, answer.GetProperty("id").GetInt64());
            }
        }
        finally
        {
            Directory.Delete(history, recursive: true);
        }
    }

    /// <summary>The replica id in the name's presence entry: <c>{replica}|{connection}|…</c>.</summary>
    private static async Task<string> ReplicaOfAsync(ConnectionMultiplexer redis, string name)
    {
        var entry = await redis.GetDatabase().HashGetAsync("chat:{replicas}:presence", name.ToUpperInvariant());
        Assert.False(entry.IsNull, $"{name} has no presence entry");
        return entry.ToString().Split('|')[0];
    }
}
