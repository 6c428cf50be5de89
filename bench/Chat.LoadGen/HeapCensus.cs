using System.Diagnostics;
using System.Globalization;

namespace Chat.LoadGen;

/// <summary>
/// What the server's heap still reaches, by type, from the Chat.HeapCensus tool (<c>--census path/to/Chat.HeapCensus.dll</c>).
/// Two censuses, before and while the clients are connected, give the managed memory one connection holds, without the
/// garbage that resident memory also counts until the server's next collection.
/// </summary>
internal sealed class HeapCensus
{
    private readonly Dictionary<string, (long Objects, long Bytes)> types;

    private HeapCensus(long bytes, Dictionary<string, (long Objects, long Bytes)> types)
    {
        Bytes = bytes;
        this.types = types;
    }

    public long Bytes { get; }

    /// <summary>Null when no tool was given or it failed (the reason goes to the console).</summary>
    public static async Task<HeapCensus?> TakeAsync(string? tool, int pid)
    {
        if (tool is null || pid <= 0)
        {
            return null;
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(tool);
        start.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Console.WriteLine("  heap census: timed out");
            return null;
        }

        if (process.ExitCode != 0)
        {
            Console.WriteLine($"  heap census failed: {(await errors).Split('\n')[0]}");
            return null;
        }

        long total = 0;
        var types = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (var line in (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split('\t', 3);
            if (fields[0] == "TOTAL")
            {
                total = long.Parse(fields[2], CultureInfo.InvariantCulture);
                continue;
            }

            types[fields[2]] = (long.Parse(fields[0], CultureInfo.InvariantCulture), long.Parse(fields[1], CultureInfo.InvariantCulture));
        }

        return new HeapCensus(total, types);
    }

    /// <summary>The types that grew most from <paramref name="before"/>, per connection: "bytes x objects type; ...".</summary>
    public string LargestGrowth(HeapCensus before, int connections, int count) => string.Join("; ", types
        .Select(t => (Name: t.Key, Growth: Subtract(t.Value, before.types.GetValueOrDefault(t.Key))))
        .OrderByDescending(t => t.Growth.Bytes)
        .Take(count)
        .Select(t => string.Create(CultureInfo.InvariantCulture,
            $"{t.Growth.Bytes / (double)connections:0} B x{t.Growth.Objects / (double)connections:0.##} {ShortName(t.Name)}")));

    private static (long Objects, long Bytes) Subtract((long Objects, long Bytes) a, (long Objects, long Bytes) b) =>
        (a.Objects - b.Objects, a.Bytes - b.Bytes);

    // Generic arguments make type names long; the outer type says enough in a table.
    private static string ShortName(string name)
    {
        var generic = name.IndexOf('<', StringComparison.Ordinal);
        var bare = generic < 0 ? name : name[..generic] + "<…>" + name[(name.LastIndexOf('>') + 1)..];
        return bare[(bare.LastIndexOf('.', generic < 0 ? bare.Length - 1 : generic) + 1)..];
    }
}
