using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Chat.ServiceDefaults.Tests;

public sealed class ServiceDiscoveryTests
{
    [Theory]
    [InlineData("http://api/ping")]
    [InlineData("https+http://api/ping")]
    public async Task An_http_client_reaches_api_through_the_services_configuration(string url)
    {
        var apiBuilder = LoopbackApp.CreateBuilder();
        await using var api = apiBuilder.Build();
        api.MapGet("/ping", () => "pong");
        await api.StartAsync(TestContext.Current.CancellationToken);

        // What the AppHost's WithReference(api) injects as services__api__http__0.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Production });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["services:api:http:0"] = api.BaseAddress().ToString(),
        });
        builder.AddServiceDefaults();
        using var host = builder.Build();
        using var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        using var timeout = LoopbackApp.TimeoutSource();
        Assert.Equal("pong", await client.GetStringAsync(url, timeout.Token));
    }
}
