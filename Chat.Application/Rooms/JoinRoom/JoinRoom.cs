using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using FluentValidation;
using Mediator;
using Microsoft.Extensions.Options;

namespace Chat.Application.Rooms.JoinRoom;

/// <summary>A connection asks to enter a room under a name; <c>Room</c> null means the default room.</summary>
public sealed record JoinRoomCommand(ConnectionId Connection, string UserName, string? Room = null)
    : ICommand<Result<JoinedRoom>>;

public sealed record JoinedRoom(RoomId Room, UserName UserName);

public sealed class JoinRoomValidator : AbstractValidator<JoinRoomCommand>
{
    public JoinRoomValidator(IOptions<ChatOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var maxLength = options.Value.MaxUserNameLength;
        RuleFor(c => c.UserName).Custom((name, context) =>
        {
            if (Domain.Users.UserName.Validate(name, maxLength) is { } error)
            {
                context.AddFailure(error);
            }
        });
        RuleFor(c => c.Room).Custom((room, context) =>
        {
            if (room is not null && RoomId.Validate(room) is { } error)
            {
                context.AddFailure(error);
            }
        });
    }
}

public sealed class JoinRoomHandler(
    IConnectionRegistry registry, IBroadcaster broadcaster, TimeProvider clock, IOptions<ChatOptions> options)
    : ICommandHandler<JoinRoomCommand, Result<JoinedRoom>>
{
    private readonly ChatOptions options = options.Value;

    public async ValueTask<Result<JoinedRoom>> Handle(JoinRoomCommand command, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var name = UserName.Create(command.UserName, options.MaxUserNameLength);
        var roomId = command.Room is null ? options.DefaultRoomId : RoomId.Create(command.Room);
        if (registry.TryGetUser(command.Connection, out _))
        {
            return Result.Conflict<JoinedRoom>("This connection has already joined a room.");
        }

        var user = new User(command.Connection, name, now);
        while (true)
        {
            var room = registry.GetOrAddRoom(roomId, now);
            switch (room.Join(user, out var joined, now))
            {
                case JoinOutcome.Joined:
                    registry.AddUser(user);
                    await broadcaster.PublishAsync(room, joined!, cancellationToken);
                    return Result.Ok(new JoinedRoom(room.Id, name));
                case JoinOutcome.NameTaken:
                    return Result.Conflict<JoinedRoom>($"The name '{name}' is already taken in this room.");
                case JoinOutcome.RoomClosed:
                    // The last member left and closed it between our lookup and our join: start afresh.
                    registry.RemoveRoom(room);
                    continue;
                default:
                    return Result.Conflict<JoinedRoom>("This connection has already joined a room.");
            }
        }
    }
}
