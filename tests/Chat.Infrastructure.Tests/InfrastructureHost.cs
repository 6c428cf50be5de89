using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Infrastructure.Tests;

/// <summary>
/// The real use cases and infrastructure without a web host: a SQLite history in a folder of its own, and the
/// hosted services (the history's writer) started and stopped as a host would.
/// </summary>
internal sealed class InfrastructureHost : IAsyncDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("chat-infrastructure-tests-").FullName;
    private readonly ServiceProvider provider;

    private InfrastructureHost(IReadOnlyDictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>(settings) { ["Chat:History:Path"] = Path.Combine(folder, "chat.db") })
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        provider = services.AddApplication().AddInfrastructure(configuration).BuildServiceProvider();
    }

    public IServiceProvider Services => provider;

    public static async Task<InfrastructureHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var host = new InfrastructureHost(settings ?? new Dictionary<string, string?>());
        foreach (var service in host.provider.GetServices<IHostedService>())
        {
            await service.StartAsync(TestContext.Current.CancellationToken);
        }

        return host;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in provider.GetServices<IHostedService>().Reverse())
        {
            await service.StopAsync(CancellationToken.None);
        }

        await provider.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }
}
