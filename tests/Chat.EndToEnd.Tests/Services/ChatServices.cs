using System.Net;
using System.Net.Sockets;
using System.Text;
using Chat.EndToEnd.Tests.Otlp;

namespace Chat.EndToEnd.Tests.Services;

/// <summary>
/// Chat.AppHost's topology without Aspire: Chat.Api and Chat.Web as separate processes, with the environment the
/// AppHost injects in run mode (docs/aspire.md, "What the AppHost injects"), exporting to an OTLP receiver in the test.
/// </summary>
public sealed class ChatServices : IAsyncLifetime
{
    /// <summary>Cold start of two services on a busy two-core machine, with margin.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string instance = Guid.NewGuid().ToString("N")[..8];
    private OtlpReceiver? receiver;
    private ServiceProcess? api;
    private ServiceProcess? web;

    /// <summary>Web's address, as a browser would use it; also the Origin its pages send.</summary>
    public Uri WebAddress { get; private set; } = null!;

    public Uri ApiAddress { get; private set; } = null!;

    public string WebOrigin => WebAddress.GetLeftPart(UriPartial.Authority);

    internal OtlpReceiver Receiver => receiver ?? throw new InvalidOperationException("Not started.");

    /// <summary>The <c>service.instance.id</c> each service is given, as the orchestrator gives one per resource.</summary>
    public string InstanceId(string service) => $"{service}-{instance}";

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        receiver = await OtlpReceiver.StartAsync(cancellationToken);

        // The AppHost allocates every endpoint before it starts anything: api needs web's origin, web needs api's address.
        ApiAddress = new Uri($"http://127.0.0.1:{FreeLoopbackPort()}");
        WebAddress = new Uri($"http://127.0.0.1:{FreeLoopbackPort()}");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            api = ServiceProcess.Start("api", "Chat.Api", ServiceEnvironment("api", ApiAddress, new Dictionary<string, string>
            {
                ["Chat__AllowedOrigins__0"] = WebOrigin,
            }));
            // .WithHttpHealthCheck("/health") on api, and web .WaitFor(api).
            await WaitUntilHealthyAsync(http, api, new Uri(ApiAddress, "/health"), cancellationToken);

            var apiUrl = ApiAddress.GetLeftPart(UriPartial.Authority);
            web = ServiceProcess.Start("web", "Chat.Web", ServiceEnvironment("web", WebAddress, new Dictionary<string, string>
            {
                // .WithReference(api): service discovery's configuration key, and the endpoint as a plain variable.
                ["services__api__http__0"] = apiUrl,
                ["API_HTTP"] = apiUrl,
            }));
            // .WithHttpHealthCheck("/ready") on web.
            await WaitUntilHealthyAsync(http, web, new Uri(WebAddress, "/ready"), cancellationToken);
        }
        catch (Exception exception)
        {
            // Stopped first, whatever went wrong, so nothing outlives the run and the report has everything they wrote.
            await DisposeAsync();
            if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new InvalidOperationException($"The services did not start: {exception.Message}{Environment.NewLine}{Report()}", exception);
        }
    }

    /// <summary>Each service's output and what the receiver got, for a failing test's report.</summary>
    public string Report()
    {
        var report = new StringBuilder();
        foreach (var service in new[] { api, web })
        {
            if (service is not null)
            {
                report.Append("----- ").Append(service.Name).AppendLine(service.HasExited ? " (exited) -----" : " (running) -----")
                    .AppendLine(service.Output);
            }
        }

        report.AppendLine("----- OTLP receiver -----").AppendLine(receiver?.Summary() ?? "not started");
        return report.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        // Web first, as the orchestrator stops dependants first; each kill is bounded (ServiceProcess). The processes
        // stay referenced, disposed, so that a report made afterwards still has their output.
        if (web is not null)
        {
            await web.DisposeAsync();
        }

        if (api is not null)
        {
            await api.DisposeAsync();
        }

        if (receiver is not null)
        {
            await receiver.DisposeAsync();
        }
    }

    /// <summary>
    /// What the AppHost gives every project resource in run mode, Aspire 13 (OtlpConfigurationExtensions and
    /// ProjectResourceBuilderExtensions), plus the resource's own variables. Development is the launch profile's
    /// environment; it is also what makes a build (not publish) output serve wwwroot, through the static web assets manifest.
    /// </summary>
    private Dictionary<string, string> ServiceEnvironment(string service, Uri address, Dictionary<string, string> own)
    {
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_URLS"] = address.GetLeftPart(UriPartial.Authority),
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Receiver.Endpoint.GetLeftPart(UriPartial.Authority),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = service,
            ["OTEL_RESOURCE_ATTRIBUTES"] = "service.instance.id=" + InstanceId(service),
            ["OTEL_BSP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            ["OTEL_TRACES_SAMPLER"] = "always_on",
            ["OTEL_METRICS_EXEMPLAR_FILTER"] = "trace_based",
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES"] = "true",
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES"] = "true",
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory",
        };
        foreach (var (key, value) in own)
        {
            environment[key] = value;
        }

        return environment;
    }

    private static async Task WaitUntilHealthyAsync(HttpClient http, ServiceProcess service, Uri probe, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(StartTimeout);
        using var retry = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        string? last = null;
        do
        {
            if (service.HasExited)
            {
                throw new InvalidOperationException($"{service.Name} exited before {probe} answered.");
            }

            try
            {
                using var response = await http.GetAsync(probe, deadline.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (HttpRequestException exception)
            {
                last = exception.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "no answer in time";
            }
        }
        while (await WaitAsync(retry, deadline.Token));

        cancellationToken.ThrowIfCancellationRequested();
        throw new TimeoutException($"{probe} did not answer 200 within {StartTimeout.TotalSeconds:0} s (last: {last}).");
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A port free now, bound by the service moments later; another process could take it in between (rare).</summary>
    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
