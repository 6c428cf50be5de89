using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Mediator;

namespace Chat.Application.Messages.SignalTyping;

/// <summary>A member says it is typing. Nothing is stored or numbered; the room's others are told who, never what.</summary>
public sealed record SignalTypingCommand(ConnectionId Sender) : ICommand<Result<UserTyping>>;

public sealed class SignalTypingHandler(IConnectionRegistry registry, IBroadcaster broadcaster, TimeProvider clock)
    : ICommandHandler<SignalTypingCommand, Result<UserTyping>>
{
    public async ValueTask<Result<UserTyping>> Handle(SignalTypingCommand command, CancellationToken cancellationToken)
    {
        if (!registry.TryGetUser(command.Sender, out var user) || user.Room is not { } room)
        {
            return Result.NotFound<UserTyping>("Not in a room.");
        }

        var typing = new UserTyping(room.Id, user, clock.GetUtcNow());
        await broadcaster.PublishAsync(room, typing, cancellationToken);
        return Result.Ok(typing);
    }
}
