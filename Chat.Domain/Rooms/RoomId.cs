using System.Diagnostics.CodeAnalysis;

namespace Chat.Domain.Rooms;

/// <summary>A room's identifier: 1 to 64 of a-z, 0-9, '-' and '_', compared case-insensitively (stored lower-case).</summary>
public sealed record RoomId
{
    public const int MaxLength = 64;

    private RoomId(string value) => Value = value;

    public string Value { get; }

    public static string? Validate(string? raw) => Parse(raw, out _);

    public static bool TryCreate(string? raw, [NotNullWhen(true)] out RoomId? id)
    {
        id = Parse(raw, out var value) is null ? new RoomId(value!) : null;
        return id is not null;
    }

    public static RoomId Create(string raw) =>
        Parse(raw, out var value) is { } error ? throw new ArgumentException(error, nameof(raw)) : new RoomId(value!);

    private static string? Parse(string? raw, out string? value)
    {
        value = null;
        if (string.IsNullOrEmpty(raw) || raw.Length > MaxLength)
        {
            return $"Room id must be 1 to {MaxLength} characters.";
        }

        foreach (var c in raw)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return "Room id may contain only letters a-z, digits, '-' and '_'.";
            }
        }

#pragma warning disable CA1308 // Room ids are ASCII and shown in URLs, where lower case is the convention.
        value = raw.ToLowerInvariant();
#pragma warning restore CA1308
        return null;
    }

    public override string ToString() => Value;
}
