using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Microsoft.Extensions.Options;

namespace Chat.Infrastructure.Realtime;

/// <summary>In-memory rooms and sessions of this process. The default room exists from the start and never closes.</summary>
public sealed class ConnectionRegistry : IConnectionRegistry
{
    private readonly ConcurrentDictionary<RoomId, ChatRoom> rooms = new();
    private readonly ConcurrentDictionary<ConnectionId, User> users = new();

    public ConnectionRegistry(IOptions<ChatOptions> options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        GetOrAddRoom(RoomId.Create(options.Value.DefaultRoom), clock.GetUtcNow());
    }

    public int UserCount => users.Count;

    public IReadOnlyCollection<ChatRoom> Rooms => [.. rooms.Values];

    public ChatRoom GetOrAddRoom(RoomId id, DateTimeOffset now) =>
        rooms.TryGetValue(id, out var room) ? room : rooms.GetOrAdd(id, static (key, at) => new ChatRoom(key, at), now);

    public bool TryGetRoom(RoomId id, [NotNullWhen(true)] out ChatRoom? room) => rooms.TryGetValue(id, out room);

    public void RemoveRoom(ChatRoom room)
    {
        ArgumentNullException.ThrowIfNull(room);
        rooms.TryRemove(KeyValuePair.Create(room.Id, room));
    }

    public void AddUser(User user)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (!users.TryAdd(user.Connection, user))
        {
            throw new InvalidOperationException($"Connection {user.Connection} already has a user.");
        }
    }

    public bool TryGetUser(ConnectionId connection, [NotNullWhen(true)] out User? user) =>
        users.TryGetValue(connection, out user);

    public bool TryRemoveUser(ConnectionId connection, [NotNullWhen(true)] out User? user) =>
        users.TryRemove(connection, out user);
}
