using Chat.Web.Proxy;
using Yarp.ReverseProxy.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

internal static class ApiProxyExtensions
{
    /// <summary>
    /// Forwards the API's paths (WebSockets included) to Chat.Api. The address is read when the proxy first needs
    /// it, so configuration added after registration (Aspire, tests) is honoured. Request headers, Origin among
    /// them, are forwarded unchanged: the API checks the Origin of each WebSocket against its allow-list.
    /// </summary>
    public static IServiceCollection AddApiProxy(this IServiceCollection services)
    {
        services.AddReverseProxy();
        services.AddSingleton<IProxyConfigProvider>(provider =>
        {
            var apiAddress = ApiProxy.ResolveApiAddress(provider.GetRequiredService<IConfiguration>());
            return new InMemoryConfigProvider(ApiProxy.Routes, ApiProxy.Clusters(apiAddress));
        });
        return services;
    }

    public static IEndpointRouteBuilder MapApiProxy(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapReverseProxy();
        return endpoints;
    }
}
