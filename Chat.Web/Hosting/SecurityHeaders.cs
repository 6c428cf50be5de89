namespace Microsoft.AspNetCore.Builder;

internal static class SecurityHeaders
{
    /// <summary>
    /// No inline script or style anywhere in wwwroot, so the policy can forbid both. The page connects to its own
    /// origin only: CSP Level 3 matches <c>ws:</c>/<c>wss:</c> to the page's own host and port with 'self'.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Sets the headers on every response, proxied ones included, just before they are sent.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var headers = ((HttpResponse)state).Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
                return Task.CompletedTask;
            }, context.Response);
            return next(context);
        });
}
