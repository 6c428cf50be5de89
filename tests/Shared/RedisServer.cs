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
            Port = FreeLoopbackPort();
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

            if (await PingAsync())
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"redis-server did not answer on port {Port} within {StartTimeout}.");
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

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return read >= 5 && System.Text.Encoding.ASCII.GetString(buffer, 0, 5) == "+PONG";
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
