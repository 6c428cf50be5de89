using System.Diagnostics.CodeAnalysis;
using Chat.Domain.Rooms;
using Chat.Domain.Users;

namespace Chat.Application.Abstractions;

/// <summary>The live rooms, and which user each connection is.</summary>
public interface IConnectionRegistry
{
    /// <summary>Users currently joined to a room.</summary>
    int UserCount { get; }

    ChatRoom GetOrAddRoom(RoomId id, DateTimeOffset now);

    bool TryGetRoom(RoomId id, [NotNullWhen(true)] out ChatRoom? room);

    /// <summary>Forgets a closed room, if it is still the one registered under its id.</summary>
    void RemoveRoom(ChatRoom room);

    /// <summary>A snapshot of the rooms, for statistics.</summary>
    IReadOnlyCollection<ChatRoom> Rooms { get; }

    void AddUser(User user);

    bool TryGetUser(ConnectionId connection, [NotNullWhen(true)] out User? user);

    bool TryRemoveUser(ConnectionId connection, [NotNullWhen(true)] out User? user);
}
