using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Chat.AppHost.Tests;

/// <summary>
/// The manifest azd reads to deploy (`azd up` runs the AppHost with <c>--publisher manifest</c>), generated here the
/// same way from the real AppHost: what it says is what Azure Container Apps will be given.
/// </summary>
public sealed class PublishManifestTests : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("chat-manifest-").FullName;
    private JsonElement resources;

    private static CancellationToken CancellationToken => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var output = Path.Combine(folder, "aspire-manifest.json");
        var configuration = typeof(PublishManifestTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "Configuration").Value!;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                "run", "--project", Projects.Chat_AppHost.ProjectPath, "--no-build", "-c", configuration, "--",
                "--publisher", "manifest", "--output-path", output,
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        Assert.True(process.ExitCode == 0, $"The AppHost exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(output, CancellationToken));
        resources = manifest.RootElement.GetProperty("resources").Clone();
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(folder, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public void Api_and_web_are_the_projects_deployed_and_nothing_else()
    {
        Assert.Equal(["api", "web"], resources.EnumerateObject().Select(r => r.Name).Order());
        foreach (var (name, project) in new[] { ("api", "Chat.Api.csproj"), ("web", "Chat.Web.csproj") })
        {
            var resource = resources.GetProperty(name);
            Assert.Equal("project.v0", resource.GetProperty("type").GetString());
            // The path is relative to the manifest, as azd resolves it.
            var path = Path.GetFullPath(Path.Combine(folder, resource.GetProperty("path").GetString()!));
            Assert.Equal(project, Path.GetFileName(path));
            Assert.True(File.Exists(path), path);
        }
    }

    [Fact]
    public void Web_is_public_and_api_is_reached_only_inside_the_environment()
    {
        foreach (var binding in resources.GetProperty("web").GetProperty("bindings").EnumerateObject())
        {
            Assert.True(IsExternal(binding.Value), $"web's {binding.Name} binding is not external");
        }

        foreach (var binding in resources.GetProperty("api").GetProperty("bindings").EnumerateObject())
        {
            Assert.False(IsExternal(binding.Value), $"api's {binding.Name} binding is external");
        }
    }

    [Fact]
    public void Web_finds_api_by_service_discovery_and_api_allows_the_origin_of_webs_https_endpoint()
    {
        var webEnvironment = resources.GetProperty("web").GetProperty("env");
        Assert.Equal("{api.bindings.http.url}", webEnvironment.GetProperty("services__api__http__0").GetString());
        Assert.Equal("{api.bindings.https.url}", webEnvironment.GetProperty("services__api__https__0").GetString());

        // Ingress serves web over https: that is the origin its pages send when they open the socket.
        var apiEnvironment = resources.GetProperty("api").GetProperty("env");
        Assert.Equal("{web.bindings.https.url}", apiEnvironment.GetProperty("Chat__AllowedOrigins__0").GetString());
    }

    private static bool IsExternal(JsonElement binding) =>
        binding.TryGetProperty("external", out var external) && external.GetBoolean();
}
