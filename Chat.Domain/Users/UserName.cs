using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Chat.Domain.Users;

/// <summary>
/// A display name: NFC-normalised and trimmed, 1 to <c>maxLength</c> visible characters, no control or format
/// characters, at least one visible character. Two names that differ only in case are the same name.
/// </summary>
public sealed class UserName : IEquatable<UserName>
{
    public const int DefaultMaxLength = 20;

    private UserName(string value) => Value = value;

    public string Value { get; }

    /// <summary>Checks a raw name; returns null when valid, otherwise the reason a person can read.</summary>
    public static string? Validate(string? raw, int maxLength = DefaultMaxLength) => Parse(raw, maxLength, out _);

    public static bool TryCreate(
        string? raw, int maxLength, [NotNullWhen(true)] out UserName? name, [NotNullWhen(false)] out string? error)
    {
        error = Parse(raw, maxLength, out var value);
        name = error is null ? new UserName(value!) : null;
        return error is null;
    }

    /// <summary>Creates a name already validated at the boundary; an invalid one here is a bug.</summary>
    public static UserName Create(string raw, int maxLength = DefaultMaxLength) =>
        TryCreate(raw, maxLength, out var name, out var error) ? name : throw new ArgumentException(error, nameof(raw));

    private static string? Parse(string? raw, int maxLength, out string? value)
    {
        value = null;
        if (raw is null || !TextRules.TryNormalize(raw, out var normalized))
        {
            return "User name is not valid text.";
        }

        var trimmed = TextRules.TrimInvisible(normalized);
        if (trimmed.Length == 0)
        {
            return "User name must not be empty.";
        }

        var visible = false;
        foreach (var rune in trimmed.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is System.Globalization.UnicodeCategory.Control)
            {
                return "User name must not contain control characters.";
            }

            // Format characters (bidi overrides, zero-width spaces) let one name pass for another;
            // the zero-width joiner stays allowed because emoji sequences are built with it.
            if (category is System.Globalization.UnicodeCategory.Format && rune.Value != 0x200D)
            {
                return "User name must not contain invisible formatting characters.";
            }

            if (category is System.Globalization.UnicodeCategory.LineSeparator
                or System.Globalization.UnicodeCategory.ParagraphSeparator)
            {
                return "User name must be on one line.";
            }

            visible |= TextRules.IsVisible(rune);
        }

        if (!visible)
        {
            return "User name must contain a visible character.";
        }

        if (TextRules.VisibleLength(trimmed) > maxLength)
        {
            return $"User name must be at most {maxLength} characters.";
        }

        value = trimmed;
        return null;
    }

    public bool Equals(UserName? other) =>
        other is not null && string.Equals(Value, other.Value, StringComparison.OrdinalIgnoreCase);

    public override bool Equals(object? obj) => Equals(obj as UserName);

    public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(Value);

    public override string ToString() => Value;
}
