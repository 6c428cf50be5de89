using System.Diagnostics;
using System.Numerics;

namespace Chat.LoadGen;

/// <summary>
/// Latencies in microseconds, log-linear buckets (64 per power of two, under 1.6 % error), one per receive loop so
/// recording takes no lock; merged at the end.
/// </summary>
internal sealed class Histogram
{
    private const int Linear = 128;
    private const int SubBuckets = 64;
    private const int Buckets = Linear + (40 * SubBuckets);

    // Allocated on first use: idle clients in the connections scenario never record.
    private long[] counts = [];

    public long Count { get; private set; }

    public long Max { get; private set; }

    public void Record(long stopwatchTicks)
    {
        var micros = Math.Max(0, stopwatchTicks * 1_000_000 / Stopwatch.Frequency);
        if (counts.Length == 0)
        {
            counts = new long[Buckets];
        }

        counts[Index(micros)]++;
        Count++;
        if (micros > Max)
        {
            Max = micros;
        }
    }

    public void Add(Histogram other)
    {
        if (other.Count == 0)
        {
            return;
        }

        if (counts.Length == 0)
        {
            counts = new long[Buckets];
        }

        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] += other.counts[i];
        }

        Count += other.Count;
        Max = Math.Max(Max, other.Max);
    }

    public void Reset()
    {
        Array.Clear(counts);
        Count = 0;
        Max = 0;
    }

    /// <summary>The value at this quantile, in milliseconds (the upper edge of its bucket).</summary>
    public double PercentileMs(double quantile)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        var rank = (long)Math.Ceiling(quantile * Count);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(i), Max) / 1000.0;
            }
        }

        return Max / 1000.0;
    }

    private static int Index(long micros)
    {
        if (micros < Linear)
        {
            return (int)micros;
        }

        var exponent = 63 - BitOperations.LeadingZeroCount((ulong)micros);
        var mantissa = (int)((micros >> (exponent - 6)) & (SubBuckets - 1));
        return Math.Min(Linear + ((exponent - 7) * SubBuckets) + mantissa, Buckets - 1);
    }

    private static long UpperEdge(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var exponent = ((index - Linear) / SubBuckets) + 7;
        var mantissa = (index - Linear) % SubBuckets;
        return ((long)(SubBuckets + mantissa + 1) << (exponent - 6)) - 1;
    }
}
