using System.Text;
using System.Text.Json;

namespace Chat.Infrastructure.Protocol;

/// <summary>
/// Reads what a client typed from one text frame: JSON <c>{"message": "..."}</c> or the plain text itself.
/// A frame that starts with '{' or '[' is JSON and must be exactly that shape.
/// </summary>
public static class InboundMessageParser
{
    private static ReadOnlySpan<byte> MessageProperty => "message"u8;

    private static ReadOnlySpan<byte> TypeProperty => "type"u8;

    /// <summary>Returns the message text, or null with the reason the frame was refused. The input is valid UTF-8.</summary>
    public static string? Parse(ReadOnlySpan<byte> utf8, out string? error)
    {
        error = null;
        var start = 0;
        while (start < utf8.Length && utf8[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            start++;
        }

        if (start == utf8.Length || utf8[start] is not ((byte)'{' or (byte)'['))
        {
            return Encoding.UTF8.GetString(utf8);
        }

        try
        {
            return ParseJson(utf8, out error);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            error = "Message is not valid JSON.";
            return null;
        }
    }

    private static string? ParseJson(ReadOnlySpan<byte> utf8, out string? error)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 8 });
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = "Expected a JSON object like {\"message\": \"...\"}.";
            return null;
        }

        string? message = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(MessageProperty))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String || message is not null)
                {
                    error = "\"message\" must be a single string.";
                    return null;
                }

                message = reader.GetString();
            }
            else if (reader.ValueTextEquals(TypeProperty))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String
                    || !(reader.ValueTextEquals("chat_message"u8) || reader.ValueTextEquals("message"u8)))
                {
                    error = "\"type\" may only be \"chat_message\".";
                    return null;
                }
            }
            else
            {
                error = $"Unknown field \"{Truncate(reader.GetString())}\"; send {{\"message\": \"...\"}}.";
                return null;
            }
        }

        // Anything after the object (a second value, trailing garbage) makes the reader throw here.
        while (reader.Read())
        {
        }

        if (message is null)
        {
            error = "\"message\" is required.";
            return null;
        }

        error = null;
        return message;
    }

    private static string Truncate(string? text) => text is null ? string.Empty : text.Length <= 32 ? text : text[..32] + "…";
}
