using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Infrastructure.History.Postgres;
using Chat.Infrastructure.History.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Chat.Infrastructure.Tests.History;

public sealed class HistoryStoreRegistrationTests : IDisposable
{
    private readonly string contentRoot = Directory.CreateTempSubdirectory("chat-root-").FullName;

    [Fact]
    public async Task Without_a_connection_string_history_is_a_sqlite_file_under_the_content_root()
    {
        await using var services = Build(new() { ["Chat:History:Path"] = "data/history.db" });

        var store = services.GetRequiredService<IMessageStore>();
        await store.InitializeAsync(TestContext.Current.CancellationToken);

        Assert.IsType<SqliteMessageStore>(store);
        Assert.True(File.Exists(Path.Combine(contentRoot, "data", "history.db")));
        Assert.Same(store, services.GetRequiredService<IMessageStore>());
    }

    [Fact]
    public async Task The_chatdb_connection_string_chooses_postgres()
    {
        await using var services = Build(new() { ["ConnectionStrings:chatdb"] = "Host=127.0.0.1;Port=1;Username=chat" });

        Assert.IsType<PostgresMessageStore>(services.GetRequiredService<IMessageStore>());
        Assert.False(File.Exists(Path.Combine(contentRoot, "data", "chat.db")));
    }

    [Fact]
    public async Task Settings_are_bound_from_chat_history_and_validated()
    {
        await using var valid = Build(new() { ["Chat:History:OnJoin"] = "20", ["Chat:History:MaxAge"] = "7.00:00:00" });
        await using var invalid = Build(new() { ["Chat:History:OnJoin"] = "-1", ["Chat:History:MaxMessagesPerRoom"] = "0" });

        Assert.Equal((20, TimeSpan.FromDays(7)), (valid.GetRequiredService<IOptions<HistoryOptions>>().Value.OnJoin,
            valid.GetRequiredService<IOptions<HistoryOptions>>().Value.MaxAge));
        var error = Assert.Throws<OptionsValidationException>(() => invalid.GetRequiredService<IOptions<HistoryOptions>>().Value);
        Assert.Equal(2, error.Failures.Count());
    }

    public void Dispose() => Directory.Delete(contentRoot, recursive: true);

    private ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection()
            .AddSingleton<IHostEnvironment>(new TestHostEnvironment(contentRoot))
            .AddHistoryStore(configuration)
            .BuildServiceProvider();
    }

    private sealed class TestHostEnvironment(string contentRoot) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";

        public string ApplicationName { get; set; } = "Chat.Tests";

        public string ContentRootPath { get; set; } = contentRoot;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
