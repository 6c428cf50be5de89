extern alias web;

using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.Web.Tests;

/// <summary>Chat.Web on real Kestrel on a free loopback port, forwarding to the given API address.</summary>
public sealed class ChatWebFactory : WebApplicationFactory<web::Program>
{
    private readonly Uri apiAddress;

    public ChatWebFactory(Uri apiAddress)
    {
        this.apiAddress = apiAddress;
        UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        StartServer();
    }

    public Uri Address => new(Services.GetRequiredService<IServer>().Features
        .GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

    /// <summary>The origin a browser sends from this site's pages.</summary>
    public string Origin => Address.GetLeftPart(UriPartial.Authority);

    /// <summary>A client that neither decompresses nor follows redirects, so tests see the raw responses.</summary>
    public HttpClient CreateRawClient() => new(new SocketsHttpHandler
    {
        AutomaticDecompression = DecompressionMethods.None,
        AllowAutoRedirect = false,
    })
    {
        BaseAddress = Address,
        Timeout = TimeSpan.FromSeconds(10),
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("services:api:http:0", apiAddress.ToString());
        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
    }
}
