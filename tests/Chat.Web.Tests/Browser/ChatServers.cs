using Chat.Testing;

namespace Chat.Web.Tests.Browser;

/// <summary>Chat.Web in front of Chat.Api, both on Kestrel, as a browser sees them.</summary>
public sealed class ChatServers : IAsyncDisposable
{
    private readonly int apiPort;
    private readonly IReadOnlyDictionary<string, string> apiSettings;

    // One history for the servers' lifetime, so a restarted API still has what was said.
    private readonly string historyFolder = Directory.CreateTempSubdirectory("chat-web-tests-").FullName;
    private ChatApiHost? api;

    private ChatServers(int apiPort, IReadOnlyDictionary<string, string> apiSettings)
    {
        this.apiPort = apiPort;
        this.apiSettings = apiSettings;
        Web = new ChatWebFactory(new Uri($"http://127.0.0.1:{apiPort}"));
        api = new ChatApiHost(apiPort, Web.Origin, HistoryPath, apiSettings);
    }

    private string HistoryPath => Path.Combine(historyFolder, "chat.db");

    public ChatWebFactory Web { get; }

    /// <summary>
    /// The web host must know the API's address and the API the web's origin, so the API's port is chosen first;
    /// it also has to stay the same when the API is restarted.
    /// </summary>
    /// <param name="apiSettings">More configuration for Chat.Api, kept over a restart.</param>
    public static ChatServers Start(IReadOnlyDictionary<string, string>? apiSettings = null) =>
        new(LoopbackPort.Free(), apiSettings ?? new Dictionary<string, string>());

    public async Task StopApiAsync()
    {
        if (api is not null)
        {
            await api.DisposeAsync();
            api = null;
        }
    }

    public void StartApi() => api ??= new ChatApiHost(apiPort, Web.Origin, HistoryPath, apiSettings);

    public async ValueTask DisposeAsync()
    {
        await StopApiAsync();
        await Web.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(historyFolder, recursive: true);
    }
}
