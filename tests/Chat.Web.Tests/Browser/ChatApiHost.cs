extern alias api;

using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace Chat.Web.Tests.Browser;

/// <summary>The real Chat.Api on real Kestrel at a fixed loopback port, so it can be stopped and started again there.</summary>
public sealed class ChatApiHost : WebApplicationFactory<api::Program>
{
    private readonly string allowedOrigin;
    private readonly string historyPath;
    private readonly IReadOnlyDictionary<string, string> settings;

    /// <param name="historyPath">The SQLite history file: the same one again keeps history over a restart.</param>
    /// <param name="settings">More configuration, such as <c>Chat:History:MaxResume</c>.</param>
    public ChatApiHost(int port, string allowedOrigin, string historyPath, IReadOnlyDictionary<string, string> settings)
    {
        this.allowedOrigin = allowedOrigin;
        this.historyPath = historyPath;
        this.settings = settings;
        UseKestrel(options => options.Listen(IPAddress.Loopback, port));
        StartServer();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Chat:AllowedOrigins:0", allowedOrigin);
        builder.UseSetting("Chat:AllowedOrigins:1", allowedOrigin);
        builder.UseSetting("Chat:History:Path", historyPath);
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
    }
}
