using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Infrastructure.History;
using Chat.Infrastructure.History.Postgres;
using Chat.Infrastructure.History.Sqlite;
using Chat.Infrastructure.Realtime;
using Chat.Infrastructure.Redis;
using Chat.Infrastructure.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

public static class InfrastructureServiceCollectionExtensions
{
    /// <summary>The in-memory registry, the fan-out, and the history that numbers, stores and keeps the messages.</summary>
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddHistoryStore(configuration);
        if (configuration.GetConnectionString(RedisConnectionStringName) is { Length: > 0 } redisConnection)
        {
            services.AddRedisScaleOut(configuration, redisConnection);
        }
        else
        {
            services.AddSingleton<MessageJournal>();
            services.AddSingleton<IMessagePublisher>(sp => sp.GetRequiredService<MessageJournal>());
            services.AddHostedService(sp => sp.GetRequiredService<MessageJournal>());
            services.AddSingleton<IRoomTimeline>(sp => sp.GetRequiredService<IMessageStore>());
            services.AddSingleton<IRoomPresence, LocalPresence>();
        }

        services.AddHostedService<HistoryRetention>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<IConnectionRegistry>(sp => sp.GetRequiredService<ConnectionRegistry>());
        services.AddMetrics();
        services.AddSingleton<ChatTelemetry>();
        services.AddSingleton<ChatBroadcaster>();
        services.TryAddSingleton<IBroadcaster>(sp => sp.GetRequiredService<ChatBroadcaster>());
        return services;
    }

    /// <summary>The connection string that makes several servers one chat, as Aspire's <c>AddRedis("cache")</c> names it.</summary>
    public const string RedisConnectionStringName = "cache";

    /// <summary>
    /// Several servers, one chat, through Redis: ids, order and recent history per room, presence and fan-out between
    /// servers (docs/scale-out.md). A multiplexer registered before this (Aspire's <c>AddRedisClient</c>, with its
    /// health check and telemetry) is used instead of one made from the connection string.
    /// </summary>
    private static IServiceCollection AddRedisScaleOut(this IServiceCollection services, IConfiguration configuration, string connectionString)
    {
        services.AddOptions<PresenceOptions>().Bind(configuration.GetSection(PresenceOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PresenceOptions>, PresenceOptionsValidator>());
        services.TryAddSingleton<IConnectionMultiplexer>(_ =>
        {
            var options = ConfigurationOptions.Parse(connectionString);
            // Start, and keep serving those connected, while Redis is away; it reconnects by itself.
            options.AbortOnConnectFail = false;
            return ConnectionMultiplexer.Connect(options);
        });
        services.AddSingleton<Replica>();
        services.AddSingleton<IBroadcaster, RedisBroadcaster>();
        services.AddSingleton<RoomChannels>();
        services.AddSingleton<RedisMessageBus>();
        services.AddSingleton<IMessagePublisher>(sp => sp.GetRequiredService<RedisMessageBus>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisMessageBus>());
        services.AddSingleton<IRoomTimeline, RedisTimeline>();
        services.AddSingleton<RedisPresence>();
        services.AddSingleton<IRoomPresence>(sp => sp.GetRequiredService<RedisPresence>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisPresence>());
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
