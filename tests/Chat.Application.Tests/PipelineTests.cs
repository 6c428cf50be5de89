using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Application.Messages.SendMessage;
using Chat.Application.Rooms.JoinRoom;
using Chat.Application.Stats.GetRoomStats;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NSubstitute;

namespace Chat.Application.Tests;

public sealed class PipelineTests
{
    private readonly IConnectionRegistry registry = Substitute.For<IConnectionRegistry>();
    private readonly IBroadcaster broadcaster = Substitute.For<IBroadcaster>();
    private readonly IMessageStore store = Substitute.For<IMessageStore>();
    private readonly IRoomPresence presence = Substitute.For<IRoomPresence>();
    private readonly ServiceProvider services;

    public PipelineTests() =>
        services = new ServiceCollection()
            .AddApplication()
            .AddSingleton(registry)
            .AddSingleton(broadcaster)
            .AddSingleton(Substitute.For<IMessagePublisher>())
            .AddSingleton(store)
            .AddSingleton<IRoomTimeline>(store)
            .AddSingleton(presence)
            .BuildServiceProvider();

    [Fact]
    public async Task Invalid_input_never_reaches_the_handler()
    {
        var sender = services.GetRequiredService<ISender>();

        var result = await sender.Send(new SendMessageCommand(new ConnectionId(1), new string('x', 1001)), TestContext.Current.CancellationToken);

        Assert.Equal(ResultStatus.Invalid, result.Status);
        Assert.Equal("Message must be at most 1000 characters.", result.Error);
        registry.DidNotReceive().TryGetUser(Arg.Any<ConnectionId>(), out Arg.Any<User?>());
        await broadcaster.DidNotReceive().PublishAsync(Arg.Any<ChatRoom>(), Arg.Any<ChatEvent>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Valid_input_reaches_the_handler()
    {
        var sender = services.GetRequiredService<ISender>();
        registry.GetOrAddRoom(Arg.Any<RoomId>(), Arg.Any<DateTimeOffset>())
            .Returns(new ChatRoom(RoomId.Create("general"), DateTimeOffset.UnixEpoch));
        store.OpenRoomAsync(Arg.Any<RoomId>(), Arg.Any<DateTimeOffset>(), Arg.Any<CancellationToken>())
            .Returns(new RoomHistory(RoomId.Create("general"), "epoch", 0, 0, 0, DateTimeOffset.UnixEpoch));
        presence.ClaimAsync(Arg.Any<RoomId>(), Arg.Any<User>(), Arg.Any<string?>(), Arg.Any<CancellationToken>())
            .Returns(new PresenceClaim(PresenceOutcome.Claimed));

        var result = await sender.Send(new JoinRoomCommand(new ConnectionId(1), "alice"), TestContext.Current.CancellationToken);

        Assert.True(result.IsOk);
        registry.Received(1).AddUser(Arg.Any<User>());
    }

    [Fact]
    public async Task An_unknown_room_is_not_found()
    {
        var sender = services.GetRequiredService<ISender>();
        var result = await sender.Send(new GetRoomStatsQuery("nowhere"), TestContext.Current.CancellationToken);
        Assert.Equal(ResultStatus.NotFound, result.Status);
    }

    [Fact]
    public void Settings_the_chat_cannot_run_with_are_refused()
    {
        var options = new ServiceCollection().AddApplication()
            .Configure<ChatOptions>(o => (o.DefaultRoom, o.MaxMessageLength) = ("not valid!", 0))
            .BuildServiceProvider().GetRequiredService<IOptions<ChatOptions>>();

        var error = Assert.Throws<OptionsValidationException>(() => options.Value);
        Assert.Equal(2, error.Failures.Count());
    }
}
