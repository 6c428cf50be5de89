using Chat.Domain.Rooms;
using Chat.Domain.Users;

namespace Chat.Application.Abstractions;

/// <summary>
/// Who is in each room across every server that serves it. On one server the rooms in memory are the whole truth and
/// this only reports them; with several, names are claimed here (one holder per name per room, whichever server its
/// connection is on), arrivals and departures reach the other servers, and a dead server's users are let go.
/// </summary>
public interface IRoomPresence
{
    /// <summary>
    /// Claims the user's name in its room for its connection, after it joined this server's room. With the session
    /// token of the name's current holder it takes the name over, and the holder's server ends that connection quietly.
    /// </summary>
    ValueTask<PresenceClaim> ClaimAsync(RoomId room, User user, string? resumeToken, CancellationToken cancellationToken);

    /// <summary>Lets the name go, if this connection still holds it; others hear of the departure.</summary>
    ValueTask ReleaseAsync(RoomId room, User user, CancellationToken cancellationToken);

    /// <summary>How many are in the room, on every server.</summary>
    ValueTask<int> CountAsync(RoomId room, CancellationToken cancellationToken);

    /// <summary>Every room with someone in it, and how many (on every server).</summary>
    ValueTask<IReadOnlyList<RoomOccupancy>> ListOccupiedAsync(CancellationToken cancellationToken);
}

public enum PresenceOutcome
{
    /// <summary>The name is this connection's; others are told it arrived.</summary>
    Claimed,

    /// <summary>The name was this session's already, on another connection; nobody is told anything.</summary>
    TakenOver,

    /// <summary>Someone else holds the name.</summary>
    Taken,

    /// <summary>Presence could not be reached; try again later.</summary>
    Unavailable,
}

/// <summary>The outcome of a claim, and who is in the room (in order of arrival) when it is known beyond this server.</summary>
public sealed record PresenceClaim(PresenceOutcome Outcome, IReadOnlyList<UserName>? Present = null);

public sealed record RoomOccupancy(RoomId Room, int UserCount);
