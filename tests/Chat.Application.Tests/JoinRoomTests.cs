using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Application.Rooms.JoinRoom;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using FluentValidation.TestHelper;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace Chat.Application.Tests;

public sealed class JoinRoomTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly IConnectionRegistry registry = Substitute.For<IConnectionRegistry>();
    private readonly IBroadcaster broadcaster = Substitute.For<IBroadcaster>();
    private readonly ChatRoom general = new(RoomId.Create("general"), Now);
    private readonly JoinRoomHandler handler;

    public JoinRoomTests()
    {
        registry.GetOrAddRoom(Arg.Any<RoomId>(), Arg.Any<DateTimeOffset>()).Returns(general);
        handler = new JoinRoomHandler(registry, broadcaster, new FakeTimeProvider(Now), Builders.Options());
    }

    [Fact]
    public async Task Joining_puts_the_user_in_the_default_room_and_announces_it()
    {
        var result = await handler.Handle(new JoinRoomCommand(new ConnectionId(1), " alice "), TestContext.Current.CancellationToken);

        Assert.True(result.IsOk);
        Assert.Equal("alice", result.Value!.UserName.Value);
        Assert.Equal("general", result.Value.Room.Value);
        registry.Received(1).AddUser(Arg.Is<User>(u => u.Name.Value == "alice" && u.Connection == new ConnectionId(1)));
        await broadcaster.Received(1).PublishAsync(
            general, Arg.Is<UserJoined>(e => e.User.Name.Value == "alice" && e.OccurredAt == Now), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task A_taken_name_is_a_conflict_and_nothing_is_announced()
    {
        await handler.Handle(new JoinRoomCommand(new ConnectionId(1), "alice"), TestContext.Current.CancellationToken);
        broadcaster.ClearReceivedCalls();

        var result = await handler.Handle(new JoinRoomCommand(new ConnectionId(2), "ALICE"), TestContext.Current.CancellationToken);

        Assert.Equal(ResultStatus.Conflict, result.Status);
        Assert.Contains("already taken", result.Error, StringComparison.Ordinal);
        await broadcaster.DidNotReceive().PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatEvent>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task A_room_closed_under_the_joiner_is_replaced_by_a_fresh_one()
    {
        var closed = new ChatRoom(RoomId.Create("games"), Now);
        closed.TryClose();
        var fresh = new ChatRoom(RoomId.Create("games"), Now);
        registry.GetOrAddRoom(RoomId.Create("games"), Arg.Any<DateTimeOffset>()).Returns(closed, fresh);

        var result = await handler.Handle(new JoinRoomCommand(new ConnectionId(3), "bob", "games"), TestContext.Current.CancellationToken);

        Assert.True(result.IsOk);
        registry.Received(1).RemoveRoom(closed);
        Assert.Single(fresh.Members);
    }

    [Theory]
    [InlineData("abcdefghijklmnopqrstu")]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("a\u0001")]
    public void The_validator_refuses_bad_names(string name)
    {
        var validator = new JoinRoomValidator(Builders.Options());
        validator.TestValidate(new JoinRoomCommand(new ConnectionId(1), name)).ShouldHaveValidationErrorFor(c => c.UserName);
    }

    [Fact]
    public void The_validator_takes_its_limit_from_options()
    {
        var validator = new JoinRoomValidator(Builders.Options(maxUserName: 5));
        validator.TestValidate(new JoinRoomCommand(new ConnectionId(1), "abcde")).ShouldNotHaveAnyValidationErrors();
        validator.TestValidate(new JoinRoomCommand(new ConnectionId(1), "abcdef")).ShouldHaveValidationErrorFor(c => c.UserName);
    }

    [Fact]
    public void The_validator_refuses_bad_room_ids()
    {
        var validator = new JoinRoomValidator(Builders.Options());
        validator.TestValidate(new JoinRoomCommand(new ConnectionId(1), "alice", "no spaces!")).ShouldHaveValidationErrorFor(c => c.Room);
    }
}
