using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Chat.Testing;

/// <summary>
/// A real Redis server for tests: Debian's <c>redis-server</c>, no persistence, a throwaway folder, a free port on
/// 127.0.0.1 only. It can be stopped and started again on the same port (its data is then gone, as after a restart of
/// a Redis that keeps nothing on disk); it is stopped and its folder deleted on dispose. Shared by test projects as a
/// linked file: <c>&lt;Compile Include="..\Shared\RedisServer.cs" /&gt;</c>.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private const string Binary = "/usr/bin/redis-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private string? folder;
    private Process? process;

    public int Port { get; private set; }

    /// <summary>As StackExchange.Redis and Aspire take it (<c>ConnectionStrings:cache</c>).</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    public bool IsRunning => process is { HasExited: false };

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: install Debian's redis-server (.ci/run does).");
        }

        folder = Directory.CreateTempSubdirectory("chat-redis-").FullName;
        for (var attempt = 1; ; attempt++)
        {
            Port = LoopbackPort.Free();
            try
            {
                await StartAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
                // Someone took the port between our probe and the server's bind: another one.
            }
        }
    }

    /// <summary>Starts the server (again) on its port and waits until it answers.</summary>
    public async Task StartAsync()
    {
        process = Process.Start(new ProcessStartInfo(Binary,
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", folder!, "--daemonize", "no", "--protected-mode", "yes"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {process.ExitCode} (port {Port} taken?).");
            }

            // Whoever answers must be this process: another test's server may already hold the port.
            if (await ServerProcessIdAsync() is { } answering)
            {
                if (answering == process.Id)
                {
                    return;
                }

                await StopAsync();
                throw new InvalidOperationException($"Port {Port} is another redis-server's (pid {answering}).");
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"redis-server did not answer on port {Port} within {StartTimeout}.");
    }

    /// <summary>
    /// Stops the server as a Redis with persistence stops (<c>SHUTDOWN SAVE</c>: a snapshot, then exit): started again,
    /// it has its data back. Every connection to it breaks meanwhile.
    /// </summary>
    public async Task StopSavingAsync()
    {
        if (process is { HasExited: false })
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                await client.GetStream().WriteAsync("SHUTDOWN SAVE\r\n"u8.ToArray());
                _ = await client.GetStream().ReadAsync(new byte[64]); // the connection closes as the server exits
            }
            catch (IOException)
            {
                // The server went away while answering: what SHUTDOWN does.
            }

            await process.WaitForExitAsync();
        }

        process?.Dispose();
        process = null;
    }

    /// <summary>Kills the server (SIGKILL): every connection to it breaks, and what it held is gone.</summary>
    public async Task StopAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        process?.Dispose();
        process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (folder is not null)
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The process id of the redis-server answering on the port (<c>INFO server</c>), or null if none answers.</summary>
    private async Task<int?> ServerProcessIdAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("INFO server\r\n"u8.ToArray());
            var reply = new System.Text.StringBuilder();
            var buffer = new byte[4096];
            while (!reply.ToString().Contains("process_id:", StringComparison.Ordinal) || !reply.ToString().Contains("\r\nrun_id", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer);
                if (read == 0)
                {
                    return null;
                }

                reply.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
            }

            var match = System.Text.RegularExpressions.Regex.Match(reply.ToString(), @"process_id:(\d+)");
            return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (SocketException)
        {
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
