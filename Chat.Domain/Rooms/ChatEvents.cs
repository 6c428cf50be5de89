using Chat.Domain.Users;

namespace Chat.Domain.Rooms;

/// <summary>Something that happened in a room and that its members are told about.</summary>
public abstract record ChatEvent(RoomId Room, DateTimeOffset OccurredAt);

/// <summary>A user entered the room; <paramref name="Present"/> is who is in it now, the newcomer included.</summary>
public sealed record UserJoined(RoomId Room, User User, IReadOnlyList<UserName> Present, DateTimeOffset OccurredAt)
    : ChatEvent(Room, OccurredAt);

public sealed record UserLeft(RoomId Room, UserName User, DateTimeOffset OccurredAt) : ChatEvent(Room, OccurredAt);

public sealed record ChatMessage(RoomId Room, UserName Sender, string Text, DateTimeOffset OccurredAt)
    : ChatEvent(Room, OccurredAt);
