using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.ServiceDefaults.Tests;

/// <summary>Web apps on Kestrel at 127.0.0.1 with a free port, in Production unless a test says otherwise.</summary>
internal static class LoopbackApp
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static WebApplicationBuilder CreateBuilder(IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        return builder;
    }

    /// <summary>Starts the app and returns a client for it; a request that hangs fails after <see cref="Timeout"/>.</summary>
    public static async Task<HttpClient> StartOnLoopbackAsync(this WebApplication app)
    {
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new HttpClient { BaseAddress = app.BaseAddress(), Timeout = Timeout };
    }

    public static Uri BaseAddress(this WebApplication app) => new(app.Urls.Single());

    /// <summary>The test's own cancellation, cut off after <see cref="Timeout"/>.</summary>
    public static CancellationTokenSource TimeoutSource()
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        source.CancelAfter(Timeout);
        return source;
    }
}
