using Chat.Application.Abstractions;
using Chat.Infrastructure.Realtime;
using Chat.Infrastructure.Telemetry;

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
}
