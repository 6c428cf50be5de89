using Microsoft.Extensions.Primitives;

namespace Chat.Api.WebSockets;

/// <summary>
/// Cross-site WebSocket hijacking defence: a browser sends the page's origin with every upgrade, so a socket opened
/// by another site's page is refused. Clients that send no Origin are not browsers and carry no visitor's cookies.
/// </summary>
internal static class OriginPolicy
{
    public static bool IsAllowed(StringValues origin, IEnumerable<string> allowedOrigins)
    {
        if (StringValues.IsNullOrEmpty(origin))
        {
            return true;
        }

        var requested = origin.ToString().TrimEnd('/');
        foreach (var allowed in allowedOrigins)
        {
            if (allowed == "*" || string.Equals(allowed.TrimEnd('/'), requested, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
