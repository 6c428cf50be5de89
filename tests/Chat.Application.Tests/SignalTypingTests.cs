using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Application.Messages.SignalTyping;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace Chat.Application.Tests;

public sealed class SignalTypingTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly IConnectionRegistry registry = Substitute.For<IConnectionRegistry>();
    private readonly IBroadcaster broadcaster = Substitute.For<IBroadcaster>();
    private readonly SignalTypingHandler handler;

    public SignalTypingTests() => handler = new SignalTypingHandler(registry, broadcaster, new FakeTimeProvider(Now));

    [Fact]
    public async Task A_member_typing_is_told_to_the_room_and_nothing_is_posted()
    {
        var room = new ChatRoom(RoomId.Create("general"), Now);
        var alice = new User(new ConnectionId(1), UserName.Create("alice"), Now);
        room.Join(alice, out _, Now);
        registry.TryGetUser(alice.Connection, out Arg.Any<User?>()).Returns(x => { x[1] = alice; return true; });

        var result = await handler.Handle(new SignalTypingCommand(alice.Connection), TestContext.Current.CancellationToken);

        Assert.True(result.IsOk);
        Assert.Equal(new UserTyping(room.Id, alice, Now), result.Value);
        await broadcaster.Received(1).PublishAsync(room, result.Value!, Arg.Any<CancellationToken>());
        Assert.Equal(0, room.MessageCount);
    }

    [Fact]
    public async Task A_connection_in_no_room_gets_not_found_and_nothing_is_broadcast()
    {
        var result = await handler.Handle(new SignalTypingCommand(new ConnectionId(9)), TestContext.Current.CancellationToken);

        Assert.Equal(ResultStatus.NotFound, result.Status);
        await broadcaster.DidNotReceive().PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatEvent>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public void The_typist_is_not_told_of_its_own_typing()
    {
        var alice = new User(new ConnectionId(1), UserName.Create("alice"), Now);
        var bob = new User(new ConnectionId(2), UserName.Create("bob"), Now);
        var typing = new UserTyping(RoomId.Create("general"), alice, Now);

        Assert.False(typing.IsNewsTo(alice));
        Assert.True(typing.IsNewsTo(bob));
    }
}
