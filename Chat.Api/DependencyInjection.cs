using Chat.Api;
using Chat.Api.Health;
using Chat.Api.WebSockets;
using Chat.Application.Common;
using Chat.Infrastructure.Telemetry;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

internal static class ApiServiceCollectionExtensions
{
    /// <summary>Settings, JSON, health and the socket adapter of Chat.Api.</summary>
    public static IServiceCollection AddChatApi(this IServiceCollection services)
    {
        services.AddOptions<ChatOptions>().BindConfiguration(ChatOptions.SectionName).ValidateOnStart();
        services.AddOptions<ConnectionOptions>().BindConfiguration(ChatOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConnectionOptions>, ConnectionOptionsValidator>();
        services.AddSingleton<ConnectionTracker>();

        // Kestrel's limits, chosen rather than inherited: a client that dribbles its upgrade request is cut off
        // after RequestHeadersTimeout, and headers are capped well below anything a chat client needs.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ConnectionOptions>>((kestrel, connection) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.RequestHeadersTimeout = connection.Value.RequestHeadersTimeout;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            kestrel.Limits.MaxRequestLineSize = 4 * 1024;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(60);
        });

        // What the transport reads ahead of the app, per connection: 1 MB by default. A paced or held-back sender is
        // not read, so its unread messages wait here and then in TCP's buffers: one pool block's worth keeps what it
        // costs the server to about two blocks instead of up to a megabyte. Headers up to their limit still parse.
        services.Configure<SocketTransportOptions>(sockets => sockets.MaxReadBufferSize = 4 * 1024);
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        services.AddHealthChecks().AddCheck<ChatHealthCheck>("chat");
        services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddMeter(ChatTelemetry.Name))
            .WithTracing(tracing => tracing.AddSource(ChatTelemetry.Name));
        return services;
    }
}
