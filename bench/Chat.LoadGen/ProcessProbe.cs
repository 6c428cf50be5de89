using System.Diagnostics;
using System.Globalization;

namespace Chat.LoadGen;

/// <summary>Another process's CPU time and memory, read from /proc (Linux only).</summary>
internal sealed class ProcessProbe(int pid)
{
    // USER_HZ: /proc reports CPU time in clock ticks of 1/100 s on every Linux this runs on.
    private const double TicksPerSecond = 100.0;

    public int Pid => pid;

    public bool Exists => pid > 0 && File.Exists($"/proc/{pid}/stat");

    /// <summary>User plus system CPU seconds used so far; NaN when the process is not readable.</summary>
    public double CpuSeconds()
    {
        if (pid <= 0)
        {
            return double.NaN;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name, which is in parentheses and may contain spaces.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var user = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var system = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return (user + system) / TicksPerSecond;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>Resident memory now (VmRSS) and its peak since the process started (VmHWM), in KiB.</summary>
    public (long Rss, long Peak) MemoryKib()
    {
        if (pid <= 0)
        {
            return (0, 0);
        }

        try
        {
            long rss = 0, peak = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = ParseKib(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = ParseKib(line);
                }
            }

            return (rss, peak);
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }

    private static long ParseKib(string line) =>
        long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
}

/// <summary>This process's CPU over an interval, to tell when the generator itself is the bottleneck.</summary>
internal readonly struct OwnCpu
{
    private readonly TimeSpan cpu;
    private readonly long at;

    private OwnCpu(TimeSpan cpu, long at) => (this.cpu, this.at) = (cpu, at);

    public static OwnCpu Now()
    {
        using var self = Process.GetCurrentProcess();
        return new OwnCpu(self.TotalProcessorTime, Stopwatch.GetTimestamp());
    }

    /// <summary>Cores used since <paramref name="earlier"/> (1.0 = one core busy all the time).</summary>
    public double CoresSince(OwnCpu earlier) =>
        (cpu - earlier.cpu).TotalSeconds / Stopwatch.GetElapsedTime(earlier.at, at).TotalSeconds;
}
