using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Infrastructure.History.Postgres;
using Chat.Infrastructure.History.Sqlite;
using Chat.Infrastructure.Realtime;
using Chat.Infrastructure.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

public static class InfrastructureServiceCollectionExtensions
{
    /// <summary>The in-memory registry and the fan-out.</summary>
    public static IServiceCollection AddInfrastructure(this IServiceCollection services)
    {
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<IConnectionRegistry>(sp => sp.GetRequiredService<ConnectionRegistry>());
        services.AddMetrics();
        services.AddSingleton<ChatTelemetry>();
        services.AddSingleton<ChatBroadcaster>();
        services.AddSingleton<IBroadcaster>(sp => sp.GetRequiredService<ChatBroadcaster>());
        return services;
    }

    /// <summary>
    /// The message history store and its validated settings (section <c>Chat:History</c>): PostgreSQL when the
    /// <c>chatdb</c> connection string is set, as Aspire injects it, else a SQLite file at <c>Chat:History:Path</c>
    /// under the content root. Whoever starts the app calls <see cref="IMessageStore.InitializeAsync"/> once.
    /// </summary>
    public static IServiceCollection AddHistoryStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<HistoryOptions>().Bind(configuration.GetSection(HistoryOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HistoryOptions>, HistoryOptionsValidator>());
        if (configuration.GetConnectionString(PostgresMessageStore.ConnectionStringName) is { Length: > 0 } connectionString)
        {
            // A data source registered before this (Aspire's AddNpgsqlDataSource, with its telemetry) is used instead.
            services.TryAddSingleton(_ => NpgsqlDataSource.Create(connectionString));
            services.AddSingleton<IMessageStore>(sp => new PostgresMessageStore(sp.GetRequiredService<NpgsqlDataSource>()));
        }
        else
        {
            services.AddSingleton<IMessageStore>(sp => new SqliteMessageStore(Path.Combine(
                sp.GetService<IHostEnvironment>()?.ContentRootPath ?? AppContext.BaseDirectory,
                sp.GetRequiredService<IOptions<HistoryOptions>>().Value.Path)));
        }

        return services;
    }
}
