using System.Collections.Concurrent;
using Chat.Domain.Users;

namespace Chat.Api.WebSockets;

/// <summary>The live connections, so that stopping the server can close each one properly (1001) first.</summary>
internal sealed class ConnectionTracker : IDisposable
{
    private readonly ConcurrentDictionary<ConnectionId, ChatConnection> connections = new();
    private readonly CancellationTokenRegistration stopping;

    public ConnectionTracker(IHostApplicationLifetime lifetime) =>
        stopping = lifetime.ApplicationStopping.Register(CloseAll);

    public int Count => connections.Count;

    public IDisposable Track(ChatConnection connection)
    {
        connections[connection.Id] = connection;
        return new Untrack(this, connection.Id);
    }

    public void Dispose() => stopping.Dispose();

    private void CloseAll()
    {
        foreach (var connection in connections.Values)
        {
            connection.RequestClose(CloseReason.ShuttingDown);
        }
    }

    private sealed class Untrack(ConnectionTracker tracker, ConnectionId id) : IDisposable
    {
        public void Dispose() => tracker.connections.TryRemove(id, out _);
    }
}
