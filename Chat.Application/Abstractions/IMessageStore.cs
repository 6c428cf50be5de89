using Chat.Domain.Rooms;

namespace Chat.Application.Abstractions;

/// <summary>
/// Each room's message history, kept beyond the process. Message ids are given by the caller: per room they are
/// strictly increasing and never reused, and a room's <see cref="RoomHistory.Epoch"/> names the stream they belong to.
/// Times are kept to the millisecond.
/// </summary>
public interface IMessageStore : IRoomTimeline
{
    /// <summary>
    /// Creates or upgrades the schema to this build's version, in order; running it again, or from two processes at
    /// once, is harmless. Fails if the store was written by a newer build.
    /// </summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>The room's history, or null when the store has never seen the room.</summary>
    Task<RoomHistory?> FindRoomAsync(RoomId room, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a batch, which may span rooms, in one transaction (group commit), and advances each room's last id
    /// and count; a room not opened yet is created, as of its first message. Within a room the ids must increase
    /// and be above the room's <see cref="RoomHistory.LastId"/>: a batch that breaks this is refused whole.
    /// </summary>
    Task AppendAsync(IReadOnlyList<HistoryMessage> batch, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a batch numbered elsewhere, by the sequencer the servers of one chat share:
    /// each server stores the messages its own clients sent, so batches interleave. A message whose id the room already
    /// holds is skipped; a room's last id becomes the highest it holds and its count grows by what was new.
    /// </summary>
    Task MergeAsync(IReadOnlyList<HistoryMessage> batch, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="limit"/> messages with an id below <paramref name="beforeId"/>, oldest first.</summary>
    Task<IReadOnlyList<HistoryMessage>> ReadBeforeAsync(
        RoomId room, long beforeId, int limit, CancellationToken cancellationToken);

    /// <summary>Every room the store knows, ordered by id, with its message count.</summary>
    Task<IReadOnlyList<RoomHistory>> ListRoomsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Retention: deletes every message sent before <paramref name="olderThan"/> and all but the newest
    /// <paramref name="maxMessagesPerRoom"/> of each room; returns how many it deleted. A room itself (its epoch and
    /// last id) is kept even when it has no messages left, so that its ids are never reused.
    /// </summary>
    Task<long> PruneAsync(int maxMessagesPerRoom, DateTimeOffset olderThan, CancellationToken cancellationToken);
}

/// <summary>One stored chat message; <paramref name="Id"/> orders it within its room.</summary>
public sealed record HistoryMessage(RoomId Room, long Id, string Sender, string Text, DateTimeOffset SentAt);

/// <summary>
/// A room as the store knows it. <paramref name="FirstId"/> is its oldest stored message (0 when it has none);
/// <paramref name="LastId"/> the highest id ever stored (0 when none), which pruning never lowers.
/// </summary>
public sealed record RoomHistory(
    RoomId Room, string Epoch, long LastId, long MessageCount, long FirstId, DateTimeOffset CreatedAt);
