using Yarp.ReverseProxy.Configuration;

namespace Chat.Web.Proxy;

/// <summary>The API paths the browser reaches through this host, and where they go.</summary>
internal static class ApiProxy
{
    public const string ClusterId = "api";

    /// <summary>Used when neither Aspire nor the environment names the API: Chat.Api's launch profile.</summary>
    public static readonly Uri DefaultApiAddress = new("http://localhost:5080");

    /// <summary>Path prefixes owned by the API; nothing under them is served from wwwroot.</summary>
    public static readonly string[] PathPrefixes = ["/ws", "/stats", "/room", "/health"];

    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        Route("ws", "/ws/{**rest}"),
        Route("stats", "/stats"),
        Route("room", "/room/{**rest}"),
        Route("health", "/health"),
    ];

    /// <summary>
    /// The API's address as the Aspire AppHost injects it (<c>services__api__https__0</c> or
    /// <c>services__api__http__0</c>), https preferred, else <see cref="DefaultApiAddress"/>.
    /// </summary>
    public static Uri ResolveApiAddress(IConfiguration configuration)
    {
        var configured = configuration["services:api:https:0"] ?? configuration["services:api:http:0"];
        return string.IsNullOrWhiteSpace(configured) ? DefaultApiAddress : new Uri(configured, UriKind.Absolute);
    }

    public static IReadOnlyList<ClusterConfig> Clusters(Uri apiAddress) =>
    [
        new ClusterConfig
        {
            ClusterId = ClusterId,
            Destinations = new Dictionary<string, DestinationConfig>
            {
                ["api"] = new() { Address = apiAddress.ToString() },
            },
        },
    ];

    private static RouteConfig Route(string id, string path) =>
        new() { RouteId = id, ClusterId = ClusterId, Match = new RouteMatch { Path = path } };
}
