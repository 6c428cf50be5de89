using System.IO.Compression;
using Chat.Web.Proxy;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace Microsoft.AspNetCore.Builder;

/// <summary>The page itself: wwwroot, compressed, with caching that never serves a stale page.</summary>
internal static class StaticSite
{
    /// <summary>
    /// The page is revalidated on every load (ETag/Last-Modified make that a 304); the scripts and styles keep
    /// their plain names, so they are cached only briefly and a new page never runs with old code for long.
    /// </summary>
    public const string PageCacheControl = "no-cache";

    public const string AssetCacheControl = "public, max-age=3600";

    public static IServiceCollection AddStaticSite(this IServiceCollection services)
    {
        services.AddResponseCompression(options =>
        {
            // Only wwwroot goes through compression (see UseStaticSite): public files hold no secrets to leak.
            options.EnableForHttps = true;
            options.Providers.Add<BrotliCompressionProvider>();
            options.Providers.Add<GzipCompressionProvider>();
            options.MimeTypes = [.. ResponseCompressionDefaults.MimeTypes, "image/svg+xml"];
        });
        services.Configure<BrotliCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        return services;
    }

    public static IApplicationBuilder UseStaticSite(this IApplicationBuilder app)
    {
        // Proxied API traffic keeps the API's own encoding and WebSocket upgrades pass untouched.
        app.UseWhen(context => !IsApiPath(context.Request.Path), site => site.UseResponseCompression());
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions { OnPrepareResponse = SetCacheControl });

        // The original served its assets under /static/{file}; links written for it keep working.
        app.UseStaticFiles(new StaticFileOptions { RequestPath = "/static", OnPrepareResponse = SetCacheControl });
        return app;
    }

    private static void SetCacheControl(StaticFileResponseContext context)
    {
        var isPage = context.File.Name.EndsWith(".html", StringComparison.OrdinalIgnoreCase);
        context.Context.Response.Headers[HeaderNames.CacheControl] = isPage ? PageCacheControl : AssetCacheControl;
    }

    private static bool IsApiPath(PathString path)
    {
        foreach (var prefix in ApiProxy.PathPrefixes)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
