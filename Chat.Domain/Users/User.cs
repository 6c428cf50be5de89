using Chat.Domain.Rooms;

namespace Chat.Domain.Users;

/// <summary>A person in the chat, for as long as one connection lasts.</summary>
public sealed class User(ConnectionId connection, UserName name, DateTimeOffset connectedAt, string? sessionToken = null)
{
    public ConnectionId Connection { get; } = connection;

    public UserName Name { get; } = name;

    public DateTimeOffset ConnectedAt { get; } = connectedAt;

    /// <summary>
    /// The secret that lets a reconnecting client take this session back (its name in its room) from a connection
    /// the server still believes open. Null: the session cannot be taken over.
    /// </summary>
    public string? SessionToken { get; } = sessionToken;

    /// <summary>Compares in constant time, so the token cannot be guessed from how long a refusal takes.</summary>
    public bool HoldsToken(string? token) =>
        SessionToken is not null && token is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(SessionToken), System.Text.Encoding.UTF8.GetBytes(token));

    /// <summary>The room the user is in, set and cleared by <see cref="ChatRoom"/> under its lock.</summary>
    public ChatRoom? Room { get; internal set; }

    /// <summary>
    /// Where the user's join falls in the room's sequence of joins and leaves. Notices are delivered outside the
    /// room's lock, so a notice can reach a member who joined after it happened; comparing sequences tells.
    /// </summary>
    public long JoinSequence { get; internal set; }
}
