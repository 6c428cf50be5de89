using Chat.Domain.Messages;
using Chat.Domain.Users;

namespace Chat.Domain.Rooms;

public enum JoinOutcome
{
    Joined,
    NameTaken,
    AlreadyInRoom,
    RoomClosed,
}

/// <summary>
/// A room and its members. Names are unique within a room (case-insensitively); only members post.
/// Membership changes take a lock; readers get an immutable snapshot, so fan-out never locks.
/// </summary>
public sealed class ChatRoom(RoomId id, DateTimeOffset createdAt)
{
    private readonly Lock gate = new();
    private readonly Dictionary<UserName, User> membersByName = [];
    private User[] members = [];
    private long messageCount;
    private long joinCount;
    private long sequence;
    private bool closed;

    public RoomId Id { get; } = id;

    public DateTimeOffset CreatedAt { get; } = createdAt;

    /// <summary>The members at this instant, in order of arrival; the array is never mutated.</summary>
    public IReadOnlyList<User> Members => Volatile.Read(ref members);

    public int MemberCount => Volatile.Read(ref members).Length;

    public long MessageCount => Interlocked.Read(ref messageCount);

    public long JoinCount => Interlocked.Read(ref joinCount);

    public bool IsClosed
    {
        get
        {
            lock (gate)
            {
                return closed;
            }
        }
    }

    public JoinOutcome Join(User user, out UserJoined? joined, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(user);
        joined = null;
        lock (gate)
        {
            if (closed)
            {
                return JoinOutcome.RoomClosed;
            }

            if (user.Room is not null)
            {
                return JoinOutcome.AlreadyInRoom;
            }

            if (!membersByName.TryAdd(user.Name, user))
            {
                return JoinOutcome.NameTaken;
            }

            var next = new User[members.Length + 1];
            members.CopyTo(next, 0);
            next[^1] = user;
            user.JoinSequence = ++sequence;
            Volatile.Write(ref members, next);
            user.Room = this;
            joinCount++;

            var present = new UserName[next.Length];
            for (var i = 0; i < next.Length; i++)
            {
                present[i] = next[i].Name;
            }

            joined = new UserJoined(Id, user, present, at, user.JoinSequence);
            return JoinOutcome.Joined;
        }
    }

    /// <summary>
    /// A reconnecting client takes its session back: <paramref name="replacement"/> steps into the place of the member
    /// of the same name, if <paramref name="token"/> is that member's session token. Nobody else is told (the name
    /// never left the room); <paramref name="welcome"/> is the replacement's own join notice, with who is present.
    /// </summary>
    public bool TryTakeOver(User replacement, string? token, DateTimeOffset at, out User? previous, out UserJoined? welcome)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        previous = null;
        welcome = null;
        lock (gate)
        {
            if (closed || replacement.Room is not null
                || !membersByName.TryGetValue(replacement.Name, out var holder) || !holder.HoldsToken(token))
            {
                return false;
            }

            var next = (User[])members.Clone();
            next[Array.IndexOf(next, holder)] = replacement;
            membersByName[replacement.Name] = replacement;
            replacement.JoinSequence = holder.JoinSequence;
            replacement.Room = this;
            holder.Room = null;
            Volatile.Write(ref members, next);

            var present = new UserName[next.Length];
            for (var i = 0; i < next.Length; i++)
            {
                present[i] = next[i].Name;
            }

            previous = holder;
            welcome = new UserJoined(Id, replacement, present, at, replacement.JoinSequence);
            return true;
        }
    }

    /// <summary>Removes the user; returns the event to announce, or null when the user was not here.</summary>
    public UserLeft? Leave(User user, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(user);
        lock (gate)
        {
            if (user.Room != this || !membersByName.Remove(user.Name))
            {
                return null;
            }

            var next = new User[members.Length - 1];
            var j = 0;
            foreach (var member in members)
            {
                if (member != user)
                {
                    next[j++] = member;
                }
            }

            Volatile.Write(ref members, next);
            user.Room = null;
            return new UserLeft(Id, user.Name, at, ++sequence);
        }
    }

    /// <summary>
    /// Places an arrival or departure that happened on another server in this room's order of joins and leaves, so
    /// that it is news exactly to the members here who joined before it was heard of.
    /// </summary>
    public long NextSequence()
    {
        lock (gate)
        {
            return ++sequence;
        }
    }

    /// <summary>Posts a message from a member; returns null when the sender is not (or no longer) in this room.</summary>
    public ChatMessage? Post(User sender, MessageText text, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(text);
        if (sender.Room != this)
        {
            return null;
        }

        Interlocked.Increment(ref messageCount);
        return new ChatMessage(Id, sender.Name, text.Value, at);
    }

    /// <summary>Closes an empty room so it can be forgotten; a room with members stays open.</summary>
    public bool TryClose()
    {
        lock (gate)
        {
            if (members.Length > 0)
            {
                return false;
            }

            closed = true;
            return true;
        }
    }
}
