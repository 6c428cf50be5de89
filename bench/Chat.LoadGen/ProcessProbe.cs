using System.Diagnostics;
using System.Globalization;

namespace Chat.LoadGen;

/// <summary>
/// Other processes' CPU time and memory, read from /proc (Linux only): one server, or every process of a scaled-out
/// one (its replicas and Redis), counted together.
/// </summary>
internal sealed class ProcessProbe(IReadOnlyList<int> pids)
{
    // USER_HZ: /proc reports CPU time in clock ticks of 1/100 s on every Linux this runs on.
    private const double TicksPerSecond = 100.0;

    public ProcessProbe(int pid)
        : this(pid > 0 ? [pid] : [])
    {
    }

    public int Pid => pids.Count > 0 ? pids[0] : 0;

    public bool Exists => pids.Count > 0 && pids.All(p => File.Exists($"/proc/{p}/stat"));

    /// <summary>User plus system CPU seconds used so far, all processes together; NaN when one is not readable.</summary>
    public double CpuSeconds()
    {
        if (pids.Count == 0)
        {
            return double.NaN;
        }

        var total = 0.0;
        foreach (var pid in pids)
        {
            total += CpuSeconds(pid);
        }

        return total;
    }

    /// <summary>Each process's CPU seconds so far, in the order given.</summary>
    public double[] CpuSecondsEach() => [.. pids.Select(CpuSeconds)];

    /// <summary>Resident memory now (VmRSS) and its peak since the process started (VmHWM), in KiB, summed.</summary>
    public (long Rss, long Peak) MemoryKib()
    {
        long rss = 0, peak = 0;
        foreach (var pid in pids)
        {
            var (r, p) = MemoryKib(pid);
            rss += r;
            peak += p;
        }

        return (rss, peak);
    }

    /// <summary>
    /// Anonymous resident memory (RssAnon: heaps, stacks), in KiB, summed. Unlike VmRSS it leaves out file-backed
    /// pages, the program's code, which a server touches once on its first pass through a code path and which do not
    /// grow with its connections.
    /// </summary>
    public long AnonKib() => pids.Sum(AnonKib);

    private static double CpuSeconds(int pid)
    {
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

    private static (long Rss, long Peak) MemoryKib(int pid)
    {
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

    private static long AnonKib(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    return ParseKib(line);
                }
            }

            return 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The one core the process is pinned to, or -1 when it may run on several.</summary>
    public static int PinnedCore(string pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
                {
                    return int.TryParse(line.AsSpan(18).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var core) ? core : -1;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    private static long ParseKib(string line) =>
        long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
}

/// <summary>How busy each core was, all processes together, from /proc/stat.</summary>
internal readonly struct CoreTimes
{
    private readonly long[] busy;
    private readonly long[] total;

    private CoreTimes(long[] busy, long[] total) => (this.busy, this.total) = (busy, total);

    public static CoreTimes Now()
    {
        var busy = new List<long>();
        var total = new List<long>();
        try
        {
            foreach (var line in File.ReadLines("/proc/stat"))
            {
                if (!line.StartsWith("cpu", StringComparison.Ordinal) || line.Length < 4 || !char.IsAsciiDigit(line[3]))
                {
                    continue;
                }

                // user nice system idle iowait irq softirq steal
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                long sum = 0;
                for (var i = 1; i <= 8 && i < fields.Length; i++)
                {
                    sum += long.Parse(fields[i], CultureInfo.InvariantCulture);
                }

                var idle = long.Parse(fields[4], CultureInfo.InvariantCulture) + long.Parse(fields[5], CultureInfo.InvariantCulture);
                busy.Add(sum - idle);
                total.Add(sum);
            }
        }
        catch (IOException)
        {
        }

        return new CoreTimes([.. busy], [.. total]);
    }

    /// <summary>Fraction of the interval each core was busy (1.0 = all the time).</summary>
    public double[] BusySince(CoreTimes earlier)
    {
        long[] busyNow = busy ?? [], totalNow = total ?? [], busyThen = earlier.busy ?? [], totalThen = earlier.total ?? [];
        var result = new double[Math.Min(busyNow.Length, busyThen.Length)];
        for (var i = 0; i < result.Length; i++)
        {
            var elapsed = totalNow[i] - totalThen[i];
            result[i] = elapsed <= 0 ? double.NaN : (busyNow[i] - busyThen[i]) / (double)elapsed;
        }

        return result;
    }
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
