using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Chat.ServiceDefaults.Tests;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Alive_and_ready_answer_healthy_outside_development()
    {
        var builder = LoopbackApp.CreateBuilder();
        builder.AddServiceDefaults();
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        using var client = await app.StartOnLoopbackAsync();

        Assert.True(app.Environment.IsProduction());
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, "/alive"));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, "/ready"));
    }

    [Fact]
    public async Task A_failing_check_without_the_live_tag_fails_ready_but_not_alive()
    {
        var builder = LoopbackApp.CreateBuilder();
        builder.AddServiceDefaults();
        builder.Services.AddHealthChecks().AddCheck("dependency", () => HealthCheckResult.Unhealthy("down"));
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        using var client = await app.StartOnLoopbackAsync();

        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, "/alive"));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await GetAsync(client, "/ready"));
    }

    [Fact]
    public async Task A_failing_check_tagged_live_fails_alive()
    {
        var builder = LoopbackApp.CreateBuilder();
        builder.AddServiceDefaults();
        builder.Services.AddHealthChecks()
            .AddCheck("stuck", () => HealthCheckResult.Unhealthy(), [Extensions.LiveTag]);
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        using var client = await app.StartOnLoopbackAsync();

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await GetAsync(client, "/alive"));
    }

    [Fact]
    public async Task Health_is_written_by_the_services_own_writer_from_every_check()
    {
        var healthy = true;
        var builder = LoopbackApp.CreateBuilder();
        builder.AddServiceDefaults();
        builder.Services.AddHealthChecks().AddCheck("chat", () =>
        {
            var data = new Dictionary<string, object> { ["rooms"] = 2 };
            return healthy ? HealthCheckResult.Healthy(data: data) : HealthCheckResult.Unhealthy(data: data);
        });
        await using var app = builder.Build();
        app.MapDefaultEndpoints(healthResponseWriter: (context, report) => context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString().ToLowerInvariant(),
            rooms = report.Entries["chat"].Data["rooms"],
        }));
        using var client = await app.StartOnLoopbackAsync();

        using var up = await client.GetAsync("/health", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, up.StatusCode);
        Assert.Equal("""{"status":"healthy","rooms":2}""", await up.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        healthy = false;
        using var down = await client.GetAsync("/health", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        var body = await down.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal("unhealthy", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Without_a_writer_health_is_left_for_the_service_to_map()
    {
        var builder = LoopbackApp.CreateBuilder();
        builder.AddServiceDefaults();
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGet(Extensions.HealthPath, () => "the web front end's own");
        using var client = await app.StartOnLoopbackAsync();

        Assert.Equal((HttpStatusCode.OK, "the web front end's own"), await GetAsync(client, "/health"));
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
