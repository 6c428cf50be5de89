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
    private readonly IMessagePublisher publisher = Substitute.For<IMessagePublisher>();
    private readonly IMessageStore store = Substitute.For<IMessageStore>();
    private readonly IRoomPresence presence = Substitute.For<IRoomPresence>();
    private readonly ChatRoom general = new(RoomId.Create("general"), Now);
    private readonly JoinRoomHandler handler;

    public JoinRoomTests()
    {
        registry.GetOrAddRoom(Arg.Any<RoomId>(), Arg.Any<DateTimeOffset>()).Returns(general);
        store.OpenRoomAsync(Arg.Any<RoomId>(), Arg.Any<DateTimeOffset>(), Arg.Any<CancellationToken>())
            .Returns(call => new RoomHistory(call.Arg<RoomId>(), "epoch-1", 12, 12, 1, Now));
        store.ReadLatestAsync(Arg.Any<RoomId>(), Arg.Any<int>(), Arg.Any<CancellationToken>())
            .Returns([Message(11), Message(12)]);
        store.ReadAfterAsync(Arg.Any<RoomId>(), 10, Arg.Any<int>(), Arg.Any<CancellationToken>())
            .Returns([Message(11), Message(12)]);
        presence.ClaimAsync(Arg.Any<RoomId>(), Arg.Any<User>(), Arg.Any<string?>(), Arg.Any<CancellationToken>())
            .Returns(new PresenceClaim(PresenceOutcome.Claimed));
        handler = new JoinRoomHandler(
            registry, broadcaster, publisher, store, presence, new FakeTimeProvider(Now), Builders.Options(),
            Microsoft.Extensions.Options.Options.Create(new HistoryOptions { OnJoin = 2, MaxResume = 5 }));
    }

    private static HistoryMessage Message(long id) => new(RoomId.Create("general"), id, "carol", $"m{id}", Now);

    [Fact]
    public async Task A_newcomer_is_welcomed_with_the_rooms_latest_messages_after_everything_published_is_stored()
    {
        await handler.Handle(new JoinRoomCommand(new ConnectionId(1), "alice"), TestContext.Current.CancellationToken);

        Received.InOrder(() =>
        {
            publisher.FlushAsync(Arg.Any<CancellationToken>());
            broadcaster.WelcomeAsync(
                Arg.Is<UserJoined>(j => j.User.Name.Value == "alice"),
                Arg.Is<RoomWelcome>(w => w.Epoch == "epoch-1" && w.Recovered == null && w.History.Count == 2 && w.ResumeToken.Length >= 22),
                Arg.Any<CancellationToken>());
        });
    }

    [Theory]
    [InlineData("10", "epoch-1", true, 2)]     // missed 11 and 12
    [InlineData("12", "epoch-1", true, 0)]     // missed nothing
    [InlineData("13", "epoch-1", false, 2)]    // claims an id from the future
    [InlineData("5", "epoch-1", false, 2)]     // missed 7, more than MaxResume (5)
    [InlineData("10", "epoch-0", false, 2)]    // another stream: the store lost messages since
    [InlineData("ten", "epoch-1", false, 2)]   // not a number
    public async Task A_resuming_client_gets_what_it_missed_or_is_told_it_did_not_recover(
        string since, string epoch, bool recovered, int sent)
    {
        store.ReadAfterAsync(Arg.Any<RoomId>(), 12, Arg.Any<int>(), Arg.Any<CancellationToken>()).Returns([]);

        await handler.Handle(new JoinRoomCommand(new ConnectionId(1), "alice", Since: since, Epoch: epoch), TestContext.Current.CancellationToken);

        await broadcaster.Received(1).WelcomeAsync(
            Arg.Any<UserJoined>(),
            Arg.Is<RoomWelcome>(w => w.Recovered == recovered && w.History.Count == sent),
            Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task The_sessions_token_takes_its_name_back_silently_and_ends_the_old_connection()
    {
        await handler.Handle(new JoinRoomCommand(new ConnectionId(1), "alice"), TestContext.Current.CancellationToken);
        var token = general.Members.Single().SessionToken;
        broadcaster.ClearReceivedCalls();

        var wrong = await handler.Handle(new JoinRoomCommand(new ConnectionId(2), "alice", ResumeToken: "forged"), TestContext.Current.CancellationToken);
        var taken = await handler.Handle(new JoinRoomCommand(new ConnectionId(3), "alice", ResumeToken: token), TestContext.Current.CancellationToken);

        Assert.Equal(ResultStatus.Conflict, wrong.Status);
        Assert.True(taken.IsOk);
        Assert.Equal(new ConnectionId(3), general.Members.Single().Connection);
        registry.Received(1).TryRemoveUser(new ConnectionId(1), out Arg.Any<User?>());
        broadcaster.Received(1).EndTakenOverSession(new ConnectionId(1));
        await broadcaster.DidNotReceive().PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatEvent>(), Arg.Any<CancellationToken>());
        await broadcaster.Received(1).WelcomeAsync(
            Arg.Is<UserJoined>(j => j.User.Connection == new ConnectionId(3)), Arg.Any<RoomWelcome>(), Arg.Any<CancellationToken>());
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

    [Fact]
    public async Task A_name_held_on_another_server_is_refused_and_the_join_here_is_undone_quietly()
    {
        presence.ClaimAsync(Arg.Any<RoomId>(), Arg.Any<User>(), Arg.Any<string?>(), Arg.Any<CancellationToken>())
            .Returns(new PresenceClaim(PresenceOutcome.Taken));

        var result = await handler.Handle(new JoinRoomCommand(new ConnectionId(1), "alice"), TestContext.Current.CancellationToken);

        Assert.Equal(ResultStatus.Conflict, result.Status);
        Assert.Empty(general.Members);
        registry.Received(1).TryRemoveUser(new ConnectionId(1), out Arg.Any<User?>());
        await broadcaster.DidNotReceive().PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatEvent>(), Arg.Any<CancellationToken>());
        await broadcaster.DidNotReceive().WelcomeAsync(Arg.Any<UserJoined>(), Arg.Any<RoomWelcome>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task When_presence_cannot_be_reached_the_join_is_unavailable_not_refused()
    {
        presence.ClaimAsync(Arg.Any<RoomId>(), Arg.Any<User>(), Arg.Any<string?>(), Arg.Any<CancellationToken>())
            .Returns(new PresenceClaim(PresenceOutcome.Unavailable));

        var result = await handler.Handle(new JoinRoomCommand(new ConnectionId(1), "alice"), TestContext.Current.CancellationToken);

        Assert.Equal(ResultStatus.Unavailable, result.Status);
        Assert.Empty(general.Members);
    }

    [Fact]
    public async Task The_welcome_lists_everyone_present_on_every_server_and_a_takeover_from_another_server_is_not_announced()
    {
        presence.ClaimAsync(Arg.Any<RoomId>(), Arg.Any<User>(), "token", Arg.Any<CancellationToken>())
            .Returns(new PresenceClaim(PresenceOutcome.TakenOver, [UserName.Create("bob"), UserName.Create("alice")]));

        var result = await handler.Handle(
            new JoinRoomCommand(new ConnectionId(1), "alice", ResumeToken: "token"), TestContext.Current.CancellationToken);

        Assert.True(result.IsOk);
        await broadcaster.DidNotReceive().PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatEvent>(), Arg.Any<CancellationToken>());
        await broadcaster.Received(1).WelcomeAsync(
            Arg.Is<UserJoined>(j => string.Join(',', j.Present.Select(n => n.Value)) == "bob,alice"),
            Arg.Any<RoomWelcome>(),
            Arg.Any<CancellationToken>());
    }
}
