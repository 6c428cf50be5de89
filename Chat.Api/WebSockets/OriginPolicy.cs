using Microsoft.Extensions.Primitives;

namespace Chat.Api.WebSockets;

/// <summary>
/// Cross-site WebSocket hijacking defence: a browser sends the page's origin with every upgrade, so a socket opened
/// by another site's page is refused. Allowed: clients that send no Origin (not browsers, so they carry no visitor's
/// cookies), origins on the allow-list, and the page's own site — an Origin whose host is the host the browser asked
/// for, directly or through Chat.Web's proxy (X-Forwarded-Host, which a page cannot set on a WebSocket upgrade).
/// </summary>
internal static class OriginPolicy
{
    public static bool IsAllowed(HttpRequest request, IEnumerable<string> allowedOrigins)
    {
        var origin = request.Headers.Origin;
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

        return Uri.TryCreate(requested, UriKind.Absolute, out var originUri)
            && (IsSameHost(originUri, request.Headers.Host) || IsSameHost(originUri, request.Headers["X-Forwarded-Host"]));
    }

    private static bool IsSameHost(Uri origin, StringValues host)
    {
        var first = host.ToString().Split(',')[0].Trim();
        return first.Length > 0 && string.Equals(origin.Authority, first, StringComparison.OrdinalIgnoreCase);
    }
}
