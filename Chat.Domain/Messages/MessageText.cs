using System.Diagnostics.CodeAnalysis;
using System.Text;
using Chat.Domain.Users;

namespace Chat.Domain.Messages;

/// <summary>
/// The text of one chat message: NFC-normalised, trimmed, 1 to <c>maxLength</c> visible characters
/// (grapheme clusters, so an emoji or a letter with accents counts once), line breaks and tabs allowed,
/// other control characters refused.
/// </summary>
public sealed record MessageText
{
    public const int DefaultMaxLength = 1000;

    private MessageText(string value) => Value = value;

    public string Value { get; }

    public static string? Validate(string? raw, int maxLength = DefaultMaxLength) => Parse(raw, maxLength, out _);

    public static bool TryCreate(
        string? raw, int maxLength, [NotNullWhen(true)] out MessageText? text, [NotNullWhen(false)] out string? error)
    {
        error = Parse(raw, maxLength, out var value);
        text = error is null ? new MessageText(value!) : null;
        return error is null;
    }

    public static MessageText Create(string raw, int maxLength = DefaultMaxLength) =>
        TryCreate(raw, maxLength, out var text, out var error) ? text : throw new ArgumentException(error, nameof(raw));

    private static string? Parse(string? raw, int maxLength, out string? value)
    {
        value = null;
        if (raw is null || !TextRules.TryNormalize(raw, out var normalized))
        {
            return "Message is not valid text.";
        }

        var trimmed = TextRules.TrimInvisible(normalized);
        if (trimmed.Length == 0)
        {
            return "Message must not be empty.";
        }

        foreach (var rune in trimmed.EnumerateRunes())
        {
            if (Rune.IsControl(rune) && rune.Value is not ('\n' or '\r' or '\t'))
            {
                return "Message must not contain control characters.";
            }
        }

        if (TextRules.VisibleLength(trimmed) > maxLength)
        {
            return $"Message must be at most {maxLength} characters.";
        }

        value = trimmed;
        return null;
    }

    public override string ToString() => Value;
}
