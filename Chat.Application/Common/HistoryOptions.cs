namespace Chat.Application.Common;

/// <summary>How a message reaches the store relative to its recipients.</summary>
public enum HistoryDurability
{
    /// <summary>A message is stored before anyone can see it: a crash loses nothing anyone saw.</summary>
    Durable,

    /// <summary>Messages are delivered first and stored shortly after: lower latency, a crash may lose the tail.</summary>
    WriteBehind,
}

/// <summary>Message history and its retention, bound from the "Chat:History" configuration section.</summary>
public sealed class HistoryOptions
{
    public const string SectionName = "Chat:History";

    /// <summary>The SQLite file, relative to the content root, used when no PostgreSQL connection string is set.</summary>
    public string Path { get; set; } = "data/chat.db";

    /// <summary>How many of a room's latest messages a newcomer receives.</summary>
    public int OnJoin { get; set; } = 50;

    /// <summary>The most missed messages a reconnecting client is sent; beyond that it is told it did not recover.</summary>
    public int MaxResume { get; set; } = 1000;

    /// <summary>Retention: the newest messages kept per room.</summary>
    public int MaxMessagesPerRoom { get; set; } = 10_000;

    /// <summary>Retention: older messages are deleted.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often retention runs.</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromHours(1);

    public HistoryDurability Durability { get; set; } = HistoryDurability.Durable;
}
