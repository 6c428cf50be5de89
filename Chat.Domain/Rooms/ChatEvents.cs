using Chat.Domain.Users;

namespace Chat.Domain.Rooms;

/// <summary>Something that happened in a room and that its members are told about.</summary>
public abstract record ChatEvent(RoomId Room, DateTimeOffset OccurredAt);

/// <summary>
/// A user entered the room; <paramref name="Present"/> is who is in it now, the newcomer included.
/// <paramref name="Sequence"/> orders it among the room's joins and leaves (see <see cref="User.JoinSequence"/>).
/// </summary>
public sealed record UserJoined(
    RoomId Room, User User, IReadOnlyList<UserName> Present, DateTimeOffset OccurredAt, long Sequence = 0)
    : ChatEvent(Room, OccurredAt)
{
    /// <summary>A member who joined later already saw this user in its own list of who is present.</summary>
    public bool IsNewsTo(User member) => member?.JoinSequence < Sequence;
}

public sealed record UserLeft(RoomId Room, UserName User, DateTimeOffset OccurredAt, long Sequence = 0)
    : ChatEvent(Room, OccurredAt)
{
    /// <summary>A member who joined after the departure never saw this user.</summary>
    public bool IsNewsTo(User member) => member?.JoinSequence < Sequence;
}

/// <summary>
/// A message said in a room. <paramref name="Id"/> is its place in the room's history, strictly increasing and never
/// reused; it is 0 until the message has been given one (messages are numbered in the order they are delivered).
/// </summary>
public sealed record ChatMessage(RoomId Room, UserName Sender, string Text, DateTimeOffset OccurredAt, long Id = 0)
    : ChatEvent(Room, OccurredAt);

/// <summary>
/// A member is typing a message. It carries no text, gets no id and is never stored: the others are only told, and
/// the member itself is not.
/// </summary>
public sealed record UserTyping(RoomId Room, User User, DateTimeOffset OccurredAt) : ChatEvent(Room, OccurredAt)
{
    /// <summary>The typist already knows.</summary>
    public bool IsNewsTo(User member) => member?.Connection != User.Connection;
}
