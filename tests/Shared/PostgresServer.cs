using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Chat.Testing;

/// <summary>
/// A real PostgreSQL server for tests: Debian's <c>postgresql</c> package (the newest under /usr/lib/postgresql),
/// a throwaway data folder, a free port on 127.0.0.1 only; stopped and deleted on dispose. Use it as a class,
/// collection or assembly fixture, and give each test a database of its own with <see cref="CreateDatabaseAsync"/>.
/// Shared by test projects as a linked file: <c>&lt;Compile Include="..\Shared\PostgresServer.cs" /&gt;</c>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private const string InstallRoot = "/usr/lib/postgresql";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);
    private string? root;
    private string? binaries;
    private int databases;

    public int Port { get; private set; }

    /// <summary>The server's own <c>postgres</c> database, as its superuser.</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    private string DataFolder => Path.Combine(root!, "data");

    public async ValueTask InitializeAsync()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The PostgreSQL test server runs Debian's binaries: Linux only.");
        }

        binaries = FindBinaries();
        root = Directory.CreateTempSubdirectory("chat-pg-").FullName;
        // The server refuses to run as root, so as root it runs as the postgres user, who must reach the folder.
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        Directory.CreateDirectory(DataFolder);
        if (Environment.IsPrivilegedProcess)
        {
            await RunAsync("chown", ["postgres:postgres", DataFolder], asServerUser: false);
        }

        // Tests need neither durability nor a locale: skip every fsync and sort bytewise.
        await RunAsync(Path.Combine(binaries, "initdb"), ["-D", DataFolder, "-U", "postgres", "--auth=trust",
            "--no-locale", "-E", "UTF8", "--no-sync", "--no-instructions"], asServerUser: true);

        // A free port can be taken by someone else before the server binds it: try another.
        for (var attempt = 1; ; attempt++)
        {
            Port = LoopbackPort.Free();
            try
            {
                await RunAsync(Path.Combine(binaries, "pg_ctl"), ["-D", DataFolder, "-l", Path.Combine(DataFolder, "server.log"),
                    "-w", "-t", "60", "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -k {DataFolder} -c fsync=off", "start"],
                    asServerUser: true);
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        var name = "test_" + Interlocked.Increment(ref databases).ToString(CultureInfo.InvariantCulture);
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionStringFor(name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (root is null)
        {
            return;
        }

        try
        {
            if (binaries is not null && File.Exists(Path.Combine(DataFolder, "postmaster.pid")))
            {
                // Immediate: nothing here is worth a shutdown checkpoint.
                await RunAsync(Path.Combine(binaries, "pg_ctl"), ["-D", DataFolder, "-m", "immediate", "-w", "stop"],
                    asServerUser: true);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Database = database,
    }.ConnectionString;

    private static string FindBinaries()
    {
        var newest = Directory.Exists(InstallRoot)
            ? Directory.GetDirectories(InstallRoot)
                .Select(folder => (Version: int.TryParse(Path.GetFileName(folder), CultureInfo.InvariantCulture, out var v) ? v : -1,
                    Bin: Path.Combine(folder, "bin")))
                .Where(c => c.Version > 0 && File.Exists(Path.Combine(c.Bin, "initdb")) && File.Exists(Path.Combine(c.Bin, "pg_ctl")))
                .OrderByDescending(c => c.Version)
                .Select(c => c.Bin)
                .FirstOrDefault()
            : null;
        return newest ?? throw new InvalidOperationException(
            $"PostgreSQL is not installed: these tests need Debian's postgresql package (apt-get install postgresql); " +
            $"no {InstallRoot}/<version>/bin with initdb and pg_ctl was found.");
    }

    private async Task RunAsync(string file, IReadOnlyList<string> arguments, bool asServerUser)
    {
        var asOtherUser = asServerUser && Environment.IsPrivilegedProcess;
        var start = new ProcessStartInfo(asOtherUser ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // A folder the postgres user may enter.
            WorkingDirectory = root,
        };
        if (asOtherUser)
        {
            foreach (var argument in (string[])["-u", "postgres", "--", file])
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(file)} did not finish within {CommandTimeout}.");
        }

        if (process.ExitCode != 0)
        {
            var log = Path.Combine(DataFolder, "server.log");
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', arguments)} failed ({process.ExitCode}): " +
                $"{await errors}{await output}{(File.Exists(log) ? await File.ReadAllTextAsync(log) : "")}");
        }
    }
}
