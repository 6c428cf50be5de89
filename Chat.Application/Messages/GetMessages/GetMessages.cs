using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using FluentValidation;
using Mediator;

namespace Chat.Application.Messages.GetMessages;

/// <summary>A page of a room's history: the newest <c>Limit</c> messages before <c>Before</c> (or the newest of all).</summary>
public sealed record GetMessagesQuery(string RoomId, long? Before, int Limit) : IQuery<Result<MessagePage>>;

/// <summary><c>HasMore</c>: older messages are stored; ask again with <c>Before</c> = the first id of this page.</summary>
public sealed record MessagePage(string RoomId, string Epoch, IReadOnlyList<HistoryMessage> Messages, bool HasMore);

public sealed class GetMessagesValidator : AbstractValidator<GetMessagesQuery>
{
    public const int MaxLimit = 100;

    /// <summary>Also what the HTTP adapter answers for a value that is not a number at all.</summary>
    public const string BeforeError = "'before' must be a message id: a whole number above 0.";

    public static readonly string LimitError = $"'limit' must be between 1 and {MaxLimit}.";

    public GetMessagesValidator()
    {
        RuleFor(q => q.Before).GreaterThan(0).WithMessage(BeforeError);
        RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).WithMessage(LimitError);
    }
}

/// <summary>
/// Pages come from the store; the epoch is the one the room's live messages carry (<see cref="IRoomTimeline"/>), which
/// is the store's own on one server and the shared stream's when servers share rooms, so a client can tell whether a
/// page continues what it was shown.
/// </summary>
public sealed class GetMessagesHandler(IConnectionRegistry registry, IMessageStore store, IRoomTimeline timeline, TimeProvider clock)
    : IQueryHandler<GetMessagesQuery, Result<MessagePage>>
{
    public async ValueTask<Result<MessagePage>> Handle(GetMessagesQuery query, CancellationToken cancellationToken)
    {
        if (!RoomId.TryCreate(query.RoomId, out var id))
        {
            return NotFound(query.RoomId);
        }

        if (await store.FindRoomAsync(id, cancellationToken) is not { } history)
        {
            // A room people are in but nobody has written in yet has an empty history; any other never existed.
            return registry.TryGetRoom(id, out _)
                ? Result.Ok(new MessagePage(id.Value, (await timeline.OpenRoomAsync(id, clock.GetUtcNow(), cancellationToken)).Epoch, [], false))
                : NotFound(query.RoomId);
        }

        var messages = query.Before is { } before
            ? await store.ReadBeforeAsync(id, before, query.Limit, cancellationToken)
            : await store.ReadLatestAsync(id, query.Limit, cancellationToken);
        var hasMore = messages.Count > 0 && history.FirstId > 0 && messages[0].Id > history.FirstId;
        var epoch = (await timeline.OpenRoomAsync(id, clock.GetUtcNow(), cancellationToken)).Epoch;
        return Result.Ok(new MessagePage(id.Value, epoch, messages, hasMore));
    }

    private static Result<MessagePage> NotFound(string roomId) => Result.NotFound<MessagePage>($"Room '{roomId}' does not exist.");
}
