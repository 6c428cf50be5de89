using Chat.Application.Common;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Realtime;
using Microsoft.Extensions.Options;

namespace Chat.Infrastructure.Tests;

public sealed class ConnectionRegistryTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch;
    private readonly ConnectionRegistry registry = new(Options.Create(new ChatOptions()), TimeProvider.System);

    [Fact]
    public void The_default_room_exists_before_anyone_joins()
    {
        var lobby = new ConnectionRegistry(Options.Create(new ChatOptions { DefaultRoom = "lobby" }), TimeProvider.System);
        Assert.True(lobby.TryGetRoom(RoomId.Create("lobby"), out var room));
        Assert.Empty(room.Members);
        Assert.Single(lobby.Rooms);
    }

    [Fact]
    public void Concurrent_lookups_of_one_room_all_get_the_same_room()
    {
        var id = RoomId.Create("general");
        var rooms = new ChatRoom[64];
        Parallel.For(0, rooms.Length, i => rooms[i] = registry.GetOrAddRoom(id, Now));
        Assert.All(rooms, r => Assert.Same(rooms[0], r));
        Assert.Single(registry.Rooms);
    }

    [Fact]
    public void Removing_a_room_only_removes_the_instance_that_is_registered()
    {
        var id = RoomId.Create("games");
        var stale = new ChatRoom(id, Now);
        var current = registry.GetOrAddRoom(id, Now);

        registry.RemoveRoom(stale);
        Assert.True(registry.TryGetRoom(id, out var found));
        Assert.Same(current, found);

        registry.RemoveRoom(current);
        Assert.False(registry.TryGetRoom(id, out _));
    }

    [Fact]
    public void Concurrent_adds_and_removes_of_users_leave_the_count_right()
    {
        var users = Enumerable.Range(1, 2000).Select(i => new User(new ConnectionId(i), UserName.Create($"u{i}"), Now)).ToArray();
        Parallel.ForEach(users, user =>
        {
            registry.AddUser(user);
            if (user.Connection.Value % 2 == 0)
            {
                Assert.True(registry.TryRemoveUser(user.Connection, out var removed));
                Assert.Same(user, removed);
            }
        });

        Assert.Equal(1000, registry.UserCount);
        Assert.True(registry.TryGetUser(new ConnectionId(1), out _));
        Assert.False(registry.TryGetUser(new ConnectionId(2), out _));
    }

    [Fact]
    public void A_connection_cannot_be_added_twice()
    {
        var user = new User(new ConnectionId(1), UserName.Create("a"), Now);
        registry.AddUser(user);
        Assert.Throws<InvalidOperationException>(() => registry.AddUser(user));
    }
}
