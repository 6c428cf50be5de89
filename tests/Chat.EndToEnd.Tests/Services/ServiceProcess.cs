using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace Chat.EndToEnd.Tests.Services;

/// <summary>
/// One service (<c>dotnet Chat.Api.dll</c>) as a child process with exactly the environment it is given, its
/// stdout and stderr kept for failure reports. Disposing kills the whole process tree.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Settings that would change a service's behaviour if inherited from whoever runs the tests.</summary>
    private static readonly string[] InheritedPrefixes =
        ["OTEL_", "ASPNETCORE_", "DOTNET_ENVIRONMENT", "services__", "Chat__", "Logging__", "API_"];

    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private bool disposed;

    private ServiceProcess(string name, Process process)
    {
        Name = name;
        this.process = process;
    }

    public string Name { get; }

    public bool HasExited => disposed || process.HasExited;

    /// <summary>Everything the service wrote so far, stdout and stderr interleaved, each line with its time since start.</summary>
    public string Output => string.Join(Environment.NewLine, output);

    /// <summary>Starts the service's built assembly (recorded by the test project's build) in its output directory.</summary>
    public static ServiceProcess Start(string name, string assemblyName, IReadOnlyDictionary<string, string> environment)
    {
        var assembly = BuiltAssembly(assemblyName);
        var start = new ProcessStartInfo(DotnetHost(), [assembly])
        {
            // The content root, where appsettings.json and the static web assets manifest are.
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var key in start.Environment.Keys.Where(IsInheritedSetting).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var service = new ServiceProcess(name, process);
        process.OutputDataReceived += (_, line) => service.Capture("out", line.Data);
        process.ErrorDataReceived += (_, line) => service.Capture("err", line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>Kills the process tree and waits, bounded, for it to exit and for the last of its output.</summary>
    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It has already exited.
        }

        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            output.Enqueue($"[test] {Name} (pid {process.Id}) did not exit within {ExitTimeout.TotalSeconds:0} s of being killed.");
        }

        process.Dispose();
    }

    private void Capture(string stream, string? line)
    {
        if (line is not null)
        {
            output.Enqueue($"[{clock.Elapsed.TotalSeconds,7:0.000} {stream}] {line}");
        }
    }

    private static bool IsInheritedSetting(string key) =>
        InheritedPrefixes.Any(prefix => key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));

    private static string BuiltAssembly(string assemblyName)
    {
        var path = typeof(ServiceProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "ChatService:" + assemblyName)?.Value
            ?? throw new InvalidOperationException($"The test project's build recorded no path for {assemblyName}; is it a ProjectReference with OutputItemType=\"ChatService\"?");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{assemblyName} is not built at the recorded path.", path);
    }

    /// <summary>The dotnet host that runs the tests (set by the dotnet CLI), else the one on PATH.</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
