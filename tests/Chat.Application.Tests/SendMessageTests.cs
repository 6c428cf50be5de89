using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Application.Messages.SendMessage;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using FluentValidation.TestHelper;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace Chat.Application.Tests;

public sealed class SendMessageTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly IConnectionRegistry registry = Substitute.For<IConnectionRegistry>();
    private readonly IMessagePublisher publisher = Substitute.For<IMessagePublisher>();
    private readonly SendMessageHandler handler;

    public SendMessageTests()
    {
        publisher.PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatMessage>(), Arg.Any<ConnectionId>(), Arg.Any<CancellationToken>())
            .Returns(true);
        handler = new SendMessageHandler(registry, publisher, new FakeTimeProvider(Now), Builders.Options());
    }

    [Fact]
    public async Task A_members_message_is_posted_and_broadcast_to_the_room()
    {
        var room = new ChatRoom(RoomId.Create("general"), Now);
        var alice = new User(new ConnectionId(1), UserName.Create("alice"), Now);
        room.Join(alice, out _, Now);
        registry.TryGetUser(alice.Connection, out Arg.Any<User?>()).Returns(x => { x[1] = alice; return true; });

        var result = await handler.Handle(new SendMessageCommand(alice.Connection, " hi "), TestContext.Current.CancellationToken);

        Assert.True(result.IsOk);
        Assert.Equal(new ChatMessage(room.Id, alice.Name, "hi", Now), result.Value);
        await publisher.Received(1).PublishAsync(room, result.Value!, alice.Connection, Arg.Any<CancellationToken>());
        Assert.Equal(1, room.MessageCount);
    }

    [Fact]
    public async Task A_message_the_publisher_no_longer_takes_is_unavailable_and_the_sender_is_told_why()
    {
        var room = new ChatRoom(RoomId.Create("general"), Now);
        var alice = new User(new ConnectionId(1), UserName.Create("alice"), Now);
        room.Join(alice, out _, Now);
        registry.TryGetUser(alice.Connection, out Arg.Any<User?>()).Returns(x => { x[1] = alice; return true; });
        publisher.PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatMessage>(), Arg.Any<ConnectionId>(), Arg.Any<CancellationToken>())
            .Returns(false);

        var result = await handler.Handle(new SendMessageCommand(alice.Connection, "hi"), TestContext.Current.CancellationToken);

        Assert.Equal(ResultStatus.Unavailable, result.Status);
        Assert.Contains("not sent", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_in_no_room_gets_not_found_and_nothing_is_broadcast()
    {
        var result = await handler.Handle(new SendMessageCommand(new ConnectionId(9), "hi"), TestContext.Current.CancellationToken);

        Assert.Equal(ResultStatus.NotFound, result.Status);
        await publisher.DidNotReceive().PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatMessage>(), Arg.Any<ConnectionId>(), Arg.Any<CancellationToken>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\u0007")]
    public void The_validator_refuses_empty_or_control_text(string? text)
    {
        new SendMessageValidator(Builders.Options())
            .TestValidate(new SendMessageCommand(new ConnectionId(1), text))
            .ShouldHaveValidationErrorFor(c => c.Text);
    }

    [Fact]
    public void The_validator_enforces_the_configured_length()
    {
        var validator = new SendMessageValidator(Builders.Options(maxMessage: 10));
        validator.TestValidate(new SendMessageCommand(new ConnectionId(1), new string('x', 10))).ShouldNotHaveAnyValidationErrors();
        validator.TestValidate(new SendMessageCommand(new ConnectionId(1), new string('x', 11)))
            .ShouldHaveValidationErrorFor(c => c.Text).WithErrorMessage("Message must be at most 10 characters.");
    }
}
