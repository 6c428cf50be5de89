using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Chat.Api.Tests;

/// <summary>
/// Chat.Api as a process of its own (the Chat.Api.dll built beside the tests), so that a test can kill it the way a
/// crash does (SIGKILL: no shutdown, no flush) and start it again on the same history file.
/// </summary>
internal sealed class ApiProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ApiProcess(Process process, Uri address)
    {
        this.process = process;
        HttpAddress = address;
    }

    public Uri HttpAddress { get; }

    public Uri WebSocketAddress => new UriBuilder(HttpAddress) { Scheme = "ws" }.Uri;

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public static async Task<ApiProcess> StartAsync(string historyPath, int port = 0)
    {
        port = port == 0 ? FreeLoopbackPort() : port;
        var address = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Chat.Api.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
            Environment =
            {
                ["ASPNETCORE_URLS"] = address.ToString(),
                ["ASPNETCORE_ENVIRONMENT"] = "Testing",
                ["Chat__History__Path"] = historyPath,
                ["Chat__MessagesPerSecond"] = "1000",
                ["Chat__MessageBurst"] = "1000",
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "",
            },
        };
        var api = new ApiProcess(Process.Start(start)!, address);
        api.process.OutputDataReceived += (_, e) => api.Append(e.Data);
        api.process.ErrorDataReceived += (_, e) => api.Append(e.Data);
        api.process.BeginOutputReadLine();
        api.process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (api.process.HasExited)
            {
                throw new InvalidOperationException($"Chat.Api exited with {api.process.ExitCode}:\n{api.Output}");
            }

            try
            {
                using var health = await http.GetAsync(new Uri(address, "/health"), TestContext.Current.CancellationToken);
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return api;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        await api.DisposeAsync();
        throw new TimeoutException($"Chat.Api did not become healthy within {StartTimeout}:\n{api.Output}");
    }

    /// <summary>SIGKILL: the process gets no chance to flush or say goodbye.</summary>
    public async Task KillAsync()
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            await KillAsync();
        }

        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
