using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Chat.Domain.Users;

namespace Chat.Infrastructure.Realtime;

/// <summary>Presence when this server is the whole chat: its rooms in memory already hold every name.</summary>
public sealed class LocalPresence(IConnectionRegistry registry) : IRoomPresence
{
    private static readonly PresenceClaim Claimed = new(PresenceOutcome.Claimed);

    public ValueTask<PresenceClaim> ClaimAsync(RoomId room, User user, string? resumeToken, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Claimed);

    public ValueTask ReleaseAsync(RoomId room, User user, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<int> CountAsync(RoomId room, CancellationToken cancellationToken) =>
        ValueTask.FromResult(registry.TryGetRoom(room, out var found) ? found.MemberCount : 0);

    public ValueTask<IReadOnlyList<RoomOccupancy>> ListOccupiedAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<RoomOccupancy>>(
            [.. registry.Rooms.Where(r => r.MemberCount > 0).Select(r => new RoomOccupancy(r.Id, r.MemberCount))]);
}
