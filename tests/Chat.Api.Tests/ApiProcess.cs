using System.Diagnostics;
using System.Net;
using System.Text;
using Chat.Testing;

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

    /// <summary>
    /// Starts Chat.Api with these settings (configuration keys, <c>Chat:…</c>) and waits for it to exit by itself;
    /// for settings it must refuse to run with.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(
        string historyPath, IReadOnlyDictionary<string, string> settings)
    {
        var start = StartInfo(new Uri($"http://127.0.0.1:{LoopbackPort.Free()}"), historyPath);
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var api = new ApiProcess(Process.Start(start)!, new Uri("http://127.0.0.1"));
        await using (api)
        {
            api.process.OutputDataReceived += (_, e) => api.Append(e.Data);
            api.process.ErrorDataReceived += (_, e) => api.Append(e.Data);
            api.process.BeginOutputReadLine();
            api.process.BeginErrorReadLine();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(StartTimeout);
            await api.process.WaitForExitAsync(timeout.Token);
            api.process.WaitForExit(); // the output's end
            return (api.process.ExitCode, api.Output);
        }
    }

    /// <param name="settings">More configuration (keys like <c>ConnectionStrings:cache</c>), over the test defaults.</param>
    public static async Task<ApiProcess> StartAsync(
        string historyPath, int port = 0, IReadOnlyDictionary<string, string>? settings = null)
    {
        port = port == 0 ? LoopbackPort.Free() : port;
        var address = new Uri($"http://127.0.0.1:{port}");
        var start = StartInfo(address, historyPath);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

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

    private static ProcessStartInfo StartInfo(Uri address, string historyPath) =>
        new("dotnet", [Path.Combine(AppContext.BaseDirectory, "Chat.Api.dll")])
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
                ["Chat__HistoryRequestsPerSecond"] = "1000",
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "",
            },
        };

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
}
