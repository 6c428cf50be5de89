using System.Text;
using System.Text.Json;

namespace Chat.Infrastructure.Protocol;

/// <summary>
/// Reads what a client typed from one text frame: JSON <c>{"message": "..."}</c> or the plain text itself.
/// A frame that starts with '{' or '[' is JSON and must be exactly that shape, or <c>{"type": "typing"}</c>, which
/// says the client is typing and carries no text.
/// </summary>
public static class InboundMessageParser
{
    private static ReadOnlySpan<byte> MessageProperty => "message"u8;

    private static ReadOnlySpan<byte> TypeProperty => "type"u8;

    /// <summary>
    /// Returns the message text; or null, either for a typing notice (<paramref name="typing"/> true) or with the reason
    /// the frame was refused. The input is valid UTF-8.
    /// </summary>
    public static string? Parse(ReadOnlySpan<byte> utf8, out bool typing, out string? error)
    {
        typing = false;
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
            var text = ParseJson(utf8, out typing, out error);
            typing &= error is null;
            return text;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            typing = false;
            error = "Message is not valid JSON.";
            return null;
        }
    }

    private static string? ParseJson(ReadOnlySpan<byte> utf8, out bool typing, out string? error)
    {
        typing = false;
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
                if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("typing"u8))
                {
                    typing = true;
                }
                else if (reader.TokenType != JsonTokenType.String
                    || !(reader.ValueTextEquals("chat_message"u8) || reader.ValueTextEquals("message"u8)))
                {
                    error = "\"type\" may only be \"chat_message\" or \"typing\".";
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

        if (typing)
        {
            // Typing is relayed without any text: a frame that carries some is a message sent the wrong way.
            error = message is null ? null : "\"typing\" carries no \"message\".";
            return null;
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
