using System.Globalization;
using System.Text;

namespace Chat.Domain.Users;

/// <summary>Character rules shared by user names and messages.</summary>
internal static class TextRules
{
    /// <summary>Counts what a person sees as characters (extended grapheme clusters), not UTF-16 units.</summary>
    public static int VisibleLength(string text) => new StringInfo(text).LengthInTextElements;

    /// <summary>NFC, so that one name or message has one spelling; fails on lone surrogates.</summary>
    public static bool TryNormalize(string text, out string normalized)
    {
        try
        {
            normalized = text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
            return true;
        }
        catch (ArgumentException)
        {
            normalized = string.Empty;
            return false;
        }
    }

    /// <summary>
    /// Characters that render as nothing although Unicode files them as letters or symbols:
    /// names made only of these would look blank.
    /// </summary>
    public static bool IsInvisible(Rune rune) => rune.Value is
        0x115F or 0x1160 or 0x3164 or 0xFFA0 // Hangul fillers
        or 0x2800 // Braille blank
        or 0x034F // combining grapheme joiner
        or (>= 0xFE00 and <= 0xFE0F) // variation selectors
        or 0x180E or 0x200B or 0x200C or 0x200D or 0x2060 or 0xFEFF;

    public static bool IsVisible(Rune rune) =>
        !IsInvisible(rune) && Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
                or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
                or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.NonSpacingMark
                or UnicodeCategory.EnclosingMark => false,
            _ => true,
        };

    /// <summary>Trims white space and invisible characters from both ends.</summary>
    public static string TrimInvisible(string text)
    {
        var span = text.AsSpan();
        while (!span.IsEmpty && Rune.DecodeFromUtf16(span, out var first, out var used) == System.Buffers.OperationStatus.Done
               && (Rune.IsWhiteSpace(first) || IsInvisible(first)))
        {
            span = span[used..];
        }

        while (!span.IsEmpty && Rune.DecodeLastFromUtf16(span, out var last, out var used) == System.Buffers.OperationStatus.Done
               && (Rune.IsWhiteSpace(last) || IsInvisible(last)))
        {
            span = span[..^used];
        }

        return span.Length == text.Length ? text : span.ToString();
    }
}
