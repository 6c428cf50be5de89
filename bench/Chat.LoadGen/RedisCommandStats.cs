using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Chat.LoadGen;

/// <summary>
/// Redis's own count of the commands it has executed, by name (<c>INFO commandstats</c>), read over a plain socket
/// in RESP: taken at the start and end of a measured window, the difference per message sent says what each message
/// cost Redis (publish once per message, or once per replica or member).
/// </summary>
internal static class RedisCommandStats
{
    /// <summary>Calls so far by command name (<c>publish</c>, <c>evalsha</c>, ...), or null when Redis does not answer.</summary>
    public static Dictionary<string, long>? Read(string? endpoint)
    {
        if (string.IsNullOrEmpty(endpoint))
        {
            return null;
        }

        try
        {
            var colon = endpoint.LastIndexOf(':');
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            {
                ReceiveTimeout = 2000,
                SendTimeout = 2000,
                NoDelay = true,
            };
            socket.Connect(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], CultureInfo.InvariantCulture));
            socket.Send("*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n"u8);
            var reply = new MemoryStream();
            var buffer = new byte[16 * 1024];
            var expected = -1;
            while (expected < 0 || reply.Length < expected)
            {
                var n = socket.Receive(buffer);
                if (n == 0)
                {
                    return null;
                }

                reply.Write(buffer, 0, n);
                if (expected < 0)
                {
                    // A bulk string: $<length>\r\n<text>\r\n
                    var head = reply.GetBuffer().AsSpan(0, (int)reply.Length);
                    var lineEnd = head.IndexOf("\r\n"u8);
                    if (lineEnd > 0)
                    {
                        if (head[0] != (byte)'$')
                        {
                            return null;
                        }

                        expected = lineEnd + 2 + int.Parse(head[1..lineEnd], CultureInfo.InvariantCulture) + 2;
                    }
                }
            }

            return Parse(Encoding.ASCII.GetString(reply.GetBuffer(), 0, (int)reply.Length));
        }
        catch (Exception e) when (e is SocketException or IOException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Commands executed between two readings, less the readings themselves (<c>info</c>).</summary>
    public static Dictionary<string, long> Since(Dictionary<string, long> now, Dictionary<string, long> earlier)
    {
        var delta = new Dictionary<string, long>();
        foreach (var (name, calls) in now)
        {
            var d = calls - earlier.GetValueOrDefault(name);
            if (d > 0 && name != "info")
            {
                delta[name] = d;
            }
        }

        return delta;
    }

    /// <summary>"evalsha 1.00, publish 0.01": each command's calls per message, most first.</summary>
    public static string PerMessage(Dictionary<string, long> delta, long messages) => messages <= 0
        ? string.Empty
        : string.Join(", ", delta.OrderByDescending(d => d.Value)
            .Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Key} {d.Value / (double)messages:0.00}")));

    // cmdstat_publish:calls=12,usec=34,usec_per_call=2.83,rejected_calls=0,failed_calls=0
    private static Dictionary<string, long> Parse(string info)
    {
        var calls = new Dictionary<string, long>();
        foreach (var line in info.Split('\n'))
        {
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var at = line.IndexOf("calls=", colon, StringComparison.Ordinal);
            if (colon < 0 || at < 0)
            {
                continue;
            }

            var end = line.IndexOf(',', at);
            var value = line[(at + 6)..(end < 0 ? line.Length : end)];
            calls[line[8..colon]] = long.Parse(value, CultureInfo.InvariantCulture);
        }

        return calls;
    }
}
