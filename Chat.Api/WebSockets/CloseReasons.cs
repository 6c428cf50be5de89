using System.Net.WebSockets;
using System.Text;

namespace Chat.Api.WebSockets;

/// <summary>Why the server closes a socket: the code and the text the client is shown.</summary>
internal readonly record struct CloseReason(WebSocketCloseStatus Status, string Description)
{
    /// <summary>RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the status code.</summary>
    private const int MaxDescriptionBytes = 123;

    public static CloseReason Normal => new(WebSocketCloseStatus.NormalClosure, "Goodbye");

    public static CloseReason NameRefused(string why) => new(WebSocketCloseStatus.PolicyViolation, why);

    public static CloseReason TooSlow => new(WebSocketCloseStatus.PolicyViolation, "Too slow: messages were not read in time.");

    public static CloseReason TooManyInvalid => new(WebSocketCloseStatus.PolicyViolation, "Too many invalid messages in a row.");

    public static CloseReason Binary => new(WebSocketCloseStatus.InvalidMessageType, "Binary frames are not supported; send text.");

    public static CloseReason InvalidUtf8 => new(WebSocketCloseStatus.InvalidPayloadData, "Text frame is not valid UTF-8.");

    public static CloseReason TooBig(int limit) => new(WebSocketCloseStatus.MessageTooBig, $"Message too big: the limit is {limit} bytes.");

    public static CloseReason ShuttingDown => new(WebSocketCloseStatus.EndpointUnavailable, "Server is shutting down.");

    /// <summary>
    /// 4001, in the range RFC 6455 leaves to applications: the same person reconnected with this session's token, so a
    /// client should not reconnect on its own after it.
    /// </summary>
    public static CloseReason TakenOver => new((WebSocketCloseStatus)4001, "Session taken over by a newer connection.");

    /// <summary>
    /// 1012 (service restart): the room's shared message stream was lost (Redis restarted without its data) and begun
    /// anew; the client reconnects, and its resume says <c>recovered: false</c> with the new epoch.
    /// </summary>
    public static CloseReason StreamReset => new((WebSocketCloseStatus)1012, "The chat restarted its message stream; reconnect.");

    /// <summary>1013 (try again later): something the chat needs (Redis) could not be reached just now.</summary>
    public static CloseReason TryAgainLater(string why) => new((WebSocketCloseStatus)1013, why);

    public static CloseReason ServerError => new(WebSocketCloseStatus.InternalServerError, "Internal server error.");

    /// <summary>The description cut to fit a close frame, never inside a character.</summary>
    public string FittedDescription
    {
        get
        {
            if (Encoding.UTF8.GetByteCount(Description) <= MaxDescriptionBytes)
            {
                return Description;
            }

            var builder = new StringBuilder();
            var bytes = 0;
            foreach (var rune in Description.EnumerateRunes())
            {
                bytes += rune.Utf8SequenceLength;
                if (bytes > MaxDescriptionBytes - 3)
                {
                    break;
                }

                builder.Append(rune.ToString());
            }

            return builder.Append('…').ToString();
        }
    }
}
