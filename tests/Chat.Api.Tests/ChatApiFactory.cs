using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Api.Tests;

/// <summary>
/// Chat.Api on real Kestrel, on a free loopback port, with optional settings. Its history is a SQLite file of its own
/// (<see cref="HistoryPath"/>), unless the settings name one: pass the same path to a second factory to restart.
/// </summary>
public sealed class ChatApiFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> settings;
    private readonly string? ownFolder;

    public ChatApiFactory(Dictionary<string, string?>? settings = null)
    {
        this.settings = settings ?? [];
        if (!this.settings.TryGetValue("Chat:History:Path", out var historyPath) || historyPath is null)
        {
            ownFolder = Directory.CreateTempSubdirectory("chat-api-tests-").FullName;
            historyPath = Path.Combine(ownFolder, "chat.db");
            this.settings["Chat:History:Path"] = historyPath;
        }

        HistoryPath = historyPath;
        UseKestrel(options => options.Listen(System.Net.IPAddress.Loopback, 0));
        StartServer();
    }

    public string HistoryPath { get; }

    public Uri HttpAddress => new(Services.GetRequiredService<IServer>().Features
        .GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

    public Uri WebSocketAddress => new UriBuilder(HttpAddress) { Scheme = "ws" }.Uri;

    public HttpClient CreateHttpClient() => new() { BaseAddress = HttpAddress, Timeout = TimeSpan.FromSeconds(10) };

    public Task<TestChatClient> ConnectAsync(string userName, string? room = null, string? origin = null, string? query = null) =>
        TestChatClient.ConnectAsync(WebSocketAddress, userName, room, origin, query);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && ownFolder is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(ownFolder, recursive: true);
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }
}
