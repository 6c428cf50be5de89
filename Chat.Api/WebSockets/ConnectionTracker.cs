using System.Collections.Concurrent;
using System.Net;
using Chat.Domain.Users;
using Microsoft.Extensions.Options;

namespace Chat.Api.WebSockets;

/// <summary>
/// The live connections: it enforces the connection limits (in total and per remote address) before an upgrade is
/// accepted, and closes each connection properly (1001) when the server stops.
/// </summary>
internal sealed class ConnectionTracker : IDisposable
{
    private readonly ConcurrentDictionary<ConnectionId, ChatConnection> connections = new();
    private readonly ConcurrentDictionary<IPAddress, int> perAddress = new();
    private readonly ConnectionOptions options;
    private readonly CancellationTokenRegistration stopping;
    private int reserved;

    public ConnectionTracker(IHostApplicationLifetime lifetime, IOptions<ConnectionOptions> options)
    {
        this.options = options.Value;
        stopping = lifetime.ApplicationStopping.Register(CloseAll);
    }

    /// <summary>Takes a connection slot for an address; null with the HTTP status to refuse with when none is free.</summary>
    public IDisposable? TryReserve(IPAddress? address, out int refusalStatus)
    {
        address ??= IPAddress.None;
        refusalStatus = 0;
        if (Interlocked.Increment(ref reserved) > options.MaxConnections)
        {
            Interlocked.Decrement(ref reserved);
            refusalStatus = StatusCodes.Status503ServiceUnavailable;
            return null;
        }

        if (perAddress.AddOrUpdate(address, 1, static (_, count) => count + 1) > options.MaxConnectionsPerAddress)
        {
            Release(address);
            refusalStatus = StatusCodes.Status429TooManyRequests;
            return null;
        }

        return new Reservation(this, address);
    }

    public IDisposable Track(ChatConnection connection)
    {
        connections[connection.Id] = connection;
        return new Untrack(this, connection.Id);
    }

    public void Dispose() => stopping.Dispose();

    private void Release(IPAddress address)
    {
        Interlocked.Decrement(ref reserved);
        // Remove the entry at zero so that addresses seen once do not accumulate.
        while (perAddress.TryGetValue(address, out var count))
        {
            if (count <= 1 ? perAddress.TryRemove(KeyValuePair.Create(address, count)) : perAddress.TryUpdate(address, count - 1, count))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Stops taking messages everywhere, lets those already accepted finish their fan-out, then closes every
    /// connection after its queue drains: no accepted message is lost to a stop.
    /// </summary>
    private void CloseAll()
    {
        var open = connections.Values.ToArray();
        foreach (var connection in open)
        {
            connection.StopAccepting();
        }

        var deadline = Environment.TickCount64 + (long)options.CloseTimeout.TotalMilliseconds;
        var spinner = default(SpinWait);
        while (open.Any(c => c.IsHandlingMessage) && Environment.TickCount64 < deadline)
        {
            spinner.SpinOnce();
        }

        foreach (var connection in open)
        {
            connection.RequestClose(CloseReason.ShuttingDown);
        }
    }

    private sealed class Reservation(ConnectionTracker tracker, IPAddress address) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                tracker.Release(address);
            }
        }
    }

    private sealed class Untrack(ConnectionTracker tracker, ConnectionId id) : IDisposable
    {
        public void Dispose() => tracker.connections.TryRemove(id, out _);
    }
}
