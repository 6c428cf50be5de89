using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using FluentValidation;
using Mediator;
using Microsoft.Extensions.Options;

namespace Chat.Application.Rooms.JoinRoom;

/// <summary>
/// A connection asks to enter a room under a name; <c>Room</c> null means the default room. A reconnecting client
/// may ask to resume after the last message it saw (<c>Since</c>, in the room's <c>Epoch</c>) and may take its session
/// back from a connection the server still thinks open (<c>ResumeToken</c>). These come from the client as typed: one
/// that cannot be honoured means "not recovered", never a refusal.
/// </summary>
public sealed record JoinRoomCommand(
    ConnectionId Connection,
    string UserName,
    string? Room = null,
    string? Since = null,
    string? Epoch = null,
    string? ResumeToken = null) : ICommand<Result<JoinedRoom>>;

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
    IConnectionRegistry registry,
    IBroadcaster broadcaster,
    IMessagePublisher publisher,
    IRoomTimeline timeline,
    IRoomPresence presence,
    TimeProvider clock,
    IOptions<ChatOptions> options,
    IOptions<HistoryOptions> historyOptions)
    : ICommandHandler<JoinRoomCommand, Result<JoinedRoom>>
{
    private readonly ChatOptions options = options.Value;
    private readonly HistoryOptions history = historyOptions.Value;

    public async ValueTask<Result<JoinedRoom>> Handle(JoinRoomCommand command, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var name = UserName.Create(command.UserName, options.MaxUserNameLength);
        var roomId = command.Room is null ? options.DefaultRoomId : RoomId.Create(command.Room);
        if (registry.TryGetUser(command.Connection, out _))
        {
            return Result.Conflict<JoinedRoom>("This connection has already joined a room.");
        }

        var user = new User(command.Connection, name, now, NewSessionToken());
        ChatRoom room;
        UserJoined joined;
        while (true)
        {
            room = registry.GetOrAddRoom(roomId, now);
            var outcome = room.Join(user, out var announced, now);
            if (outcome == JoinOutcome.Joined)
            {
                registry.AddUser(user);
                var claim = await presence.ClaimAsync(room.Id, user, command.ResumeToken, cancellationToken);
                if (claim.Outcome is PresenceOutcome.Taken or PresenceOutcome.Unavailable)
                {
                    // Held on another server (or nobody can tell): nobody here heard of this join, so it goes quietly.
                    registry.TryRemoveUser(user.Connection, out _);
                    room.Leave(user, now);
                    CloseIfIdle(room);
                    return claim.Outcome == PresenceOutcome.Taken
                        ? Result.Conflict<JoinedRoom>($"The name '{name}' is already taken in this room.")
                        : Result.Unavailable<JoinedRoom>("The chat is briefly unavailable; try again in a moment.");
                }

                joined = claim.Present is { } present ? announced! with { Present = present } : announced!;
                if (claim.Outcome == PresenceOutcome.Claimed)
                {
                    await broadcaster.PublishAsync(room, joined, cancellationToken);
                }

                break;
            }

            if (outcome == JoinOutcome.NameTaken
                && room.TryTakeOver(user, command.ResumeToken, now, out var previous, out var welcome))
            {
                // The old connection's session is this one now: it leaves without a word, and nobody hears of a join.
                registry.TryRemoveUser(previous!.Connection, out _);
                registry.AddUser(user);
                broadcaster.EndTakenOverSession(previous.Connection);
                var claim = await presence.ClaimAsync(room.Id, user, command.ResumeToken, cancellationToken);
                joined = claim.Present is { } present ? welcome! with { Present = present } : welcome!;
                break;
            }

            switch (outcome)
            {
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

        await broadcaster.WelcomeAsync(joined, await WelcomeAsync(room.Id, user, command, cancellationToken), cancellationToken);
        return Result.Ok(new JoinedRoom(room.Id, name));
    }

    /// <summary>
    /// The history the newcomer is owed. Room events already reach it (held back until its welcome), so everything
    /// published before the flush below is in the store and everything after reaches it live: nothing falls between.
    /// </summary>
    private async Task<RoomWelcome> WelcomeAsync(
        RoomId room, User user, JoinRoomCommand command, CancellationToken cancellationToken)
    {
        await publisher.FlushAsync(cancellationToken);
        var state = await timeline.OpenRoomAsync(room, clock.GetUtcNow(), cancellationToken);
        if (command.Since is null && command.Epoch is null)
        {
            return new RoomWelcome(state.Epoch, user.SessionToken!, await LatestAsync(state, cancellationToken));
        }

        // Resumable: same stream, nothing it claims to have seen is in the future, and what it missed is all still
        // stored and no more than MaxResume.
        if (long.TryParse(command.Since, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var since)
            && string.Equals(command.Epoch, state.Epoch, StringComparison.Ordinal)
            && since <= state.LastId
            && state.LastId - since <= history.MaxResume)
        {
            var missed = await timeline.ReadAfterAsync(room, since, history.MaxResume, cancellationToken);
            if (since == state.LastId || (missed.Count > 0 && missed[0].Id == since + 1))
            {
                return new RoomWelcome(state.Epoch, user.SessionToken!, missed, Recovered: true);
            }
        }

        return new RoomWelcome(state.Epoch, user.SessionToken!, await LatestAsync(state, cancellationToken), Recovered: false);
    }

    private async Task<IReadOnlyList<HistoryMessage>> LatestAsync(RoomHistory state, CancellationToken cancellationToken) =>
        history.OnJoin == 0 || state.MessageCount == 0
            ? []
            : await timeline.ReadLatestAsync(state.Room, history.OnJoin, cancellationToken);

    /// <summary>Rooms other than the default one live only while someone is in them.</summary>
    private void CloseIfIdle(ChatRoom room)
    {
        if (room.Id != options.DefaultRoomId && room.TryClose())
        {
            registry.RemoveRoom(room);
        }
    }

    /// <summary>128 random bits, URL-safe: it travels in the socket URL's query.</summary>
    private static string NewSessionToken() =>
        System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
}
