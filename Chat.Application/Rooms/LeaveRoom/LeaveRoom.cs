using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Mediator;
using Microsoft.Extensions.Options;

namespace Chat.Application.Rooms.LeaveRoom;

/// <summary>A connection leaves its room: it closed, dropped, or was disconnected.</summary>
public sealed record LeaveRoomCommand(Domain.Users.ConnectionId Connection) : ICommand<Result<UserLeft>>;

public sealed class LeaveRoomHandler(
    IConnectionRegistry registry,
    IBroadcaster broadcaster,
    IRoomPresence presence,
    TimeProvider clock,
    IOptions<ChatOptions> options)
    : ICommandHandler<LeaveRoomCommand, Result<UserLeft>>
{
    private readonly RoomId defaultRoom = options.Value.DefaultRoomId;

    public async ValueTask<Result<UserLeft>> Handle(LeaveRoomCommand command, CancellationToken cancellationToken)
    {
        if (!registry.TryRemoveUser(command.Connection, out var user) || user.Room is not { } room)
        {
            return Result.NotFound<UserLeft>("Not in a room.");
        }

        if (room.Leave(user, clock.GetUtcNow()) is not { } left)
        {
            return Result.NotFound<UserLeft>("Not in a room.");
        }

        await broadcaster.PublishAsync(room, left, cancellationToken);
        await presence.ReleaseAsync(room.Id, user, cancellationToken);

        // Rooms other than the default one live only while someone is in them, so idle ids cost nothing.
        if (room.Id != defaultRoom && room.TryClose())
        {
            registry.RemoveRoom(room);
        }

        return Result.Ok(left);
    }
}
