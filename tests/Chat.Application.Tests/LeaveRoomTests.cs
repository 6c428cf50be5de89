using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Application.Rooms.LeaveRoom;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace Chat.Application.Tests;

public sealed class LeaveRoomTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly IConnectionRegistry registry = Substitute.For<IConnectionRegistry>();
    private readonly IBroadcaster broadcaster = Substitute.For<IBroadcaster>();
    private readonly IRoomPresence presence = Substitute.For<IRoomPresence>();
    private readonly LeaveRoomHandler handler;

    public LeaveRoomTests() =>
        handler = new LeaveRoomHandler(registry, broadcaster, presence, new FakeTimeProvider(Now), Builders.Options());

    [Fact]
    public async Task Leaving_announces_the_departure_to_the_room()
    {
        var (room, alice) = Joined("general", "alice");

        var result = await handler.Handle(new LeaveRoomCommand(alice.Connection), TestContext.Current.CancellationToken);

        Assert.True(result.IsOk);
        await broadcaster.Received(1).PublishAsync(
            room, Arg.Is<UserLeft>(e => e.User == alice.Name && e.OccurredAt == Now && e.Room == room.Id), Arg.Any<CancellationToken>());
        await presence.Received(1).ReleaseAsync(room.Id, alice, Arg.Any<CancellationToken>());
        Assert.Empty(room.Members);
    }

    [Fact]
    public async Task The_last_one_out_of_a_side_room_closes_it_but_the_default_room_stays()
    {
        var (side, bob) = Joined("games", "bob");
        await handler.Handle(new LeaveRoomCommand(bob.Connection), TestContext.Current.CancellationToken);
        Assert.True(side.IsClosed);
        registry.Received(1).RemoveRoom(side);

        var (general, alice) = Joined("general", "alice");
        await handler.Handle(new LeaveRoomCommand(alice.Connection), TestContext.Current.CancellationToken);
        Assert.False(general.IsClosed);
        registry.DidNotReceive().RemoveRoom(general);
    }

    [Fact]
    public async Task Leaving_twice_is_not_found_the_second_time()
    {
        var result = await handler.Handle(new LeaveRoomCommand(new ConnectionId(42)), TestContext.Current.CancellationToken);
        Assert.Equal(ResultStatus.NotFound, result.Status);
        await broadcaster.DidNotReceive().PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatEvent>(), Arg.Any<CancellationToken>());
    }

    private (ChatRoom Room, User User) Joined(string roomId, string name)
    {
        var room = new ChatRoom(RoomId.Create(roomId), Now);
        var user = new User(new ConnectionId(name.GetHashCode(StringComparison.Ordinal)), UserName.Create(name), Now);
        room.Join(user, out _, Now);
        registry.TryRemoveUser(user.Connection, out Arg.Any<User?>()).Returns(x => { x[1] = user; return true; });
        return (room, user);
    }
}
