using System.Text.Json;
using Chat.Application.Abstractions;
using Chat.Domain.Rooms;

namespace Chat.Infrastructure.Protocol;

/// <summary>Encodes events as the UTF-8 JSON frames clients receive. Each event is encoded once per room.</summary>
public static class ChatEventSerializer
{
    public const string UserJoinedType = "user_joined";
    public const string UserLeftType = "user_left";
    public const string ChatMessageType = "chat_message";
    public const string ErrorType = "error";
    public const string TypingType = "typing";
    public const string PacedCode = "paced";

    public static byte[] Serialize(ChatEvent chatEvent) => Encode(chatEvent switch
    {
        ChatMessage m => new WireEvent(ChatMessageType, m.Sender.Value, m.Text, ToUnixSeconds(m.OccurredAt), m.Id > 0 ? m.Id : null),
        UserJoined j => new WireEvent(UserJoinedType, j.User.Name.Value, $"{j.User.Name} joined the chat", ToUnixSeconds(j.OccurredAt)),
        UserLeft l => new WireEvent(UserLeftType, l.User.Value, $"{l.User} left the chat", ToUnixSeconds(l.OccurredAt)),
        UserTyping t => new WireEvent(TypingType, t.User.Name.Value, null, ToUnixSeconds(t.OccurredAt)),
        _ => throw new ArgumentOutOfRangeException(nameof(chatEvent), chatEvent.GetType().Name, "Unknown event."),
    });

    /// <summary>
    /// A chat message's frame up to its id: <c>{…,"timestamp":…,"id":</c>. Redis gives the id when it numbers the
    /// message and closes the frame, so the bytes every server delivers are made once, by the sender's server.
    /// </summary>
    public static byte[] SerializeUnnumbered(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var frame = Encode(new WireEvent(ChatMessageType, message.Sender.Value, message.Text, ToUnixSeconds(message.OccurredAt)));
        ReadOnlySpan<byte> id = ",\"id\":"u8;
        var prefix = new byte[frame.Length - 1 + id.Length];
        frame.AsSpan(0, frame.Length - 1).CopyTo(prefix);
        id.CopyTo(prefix.AsSpan(frame.Length - 1));
        return prefix;
    }

    /// <summary>The newcomer's own join notice: who is in the room, its epoch, the resume token, whether it recovered.</summary>
    public static byte[] SerializeWelcome(UserJoined joined, RoomWelcome welcome)
    {
        ArgumentNullException.ThrowIfNull(joined);
        ArgumentNullException.ThrowIfNull(welcome);
        var users = new string[joined.Present.Count];
        for (var i = 0; i < users.Length; i++)
        {
            users[i] = joined.Present[i].Value;
        }

        return Encode(new WireEvent(
            UserJoinedType,
            joined.User.Name.Value,
            $"{joined.User.Name} joined the chat",
            ToUnixSeconds(joined.OccurredAt),
            RoomId: joined.Room.Value,
            Users: users,
            Epoch: welcome.Epoch,
            Recovered: welcome.Recovered,
            ResumeToken: welcome.ResumeToken));
    }

    /// <summary>A stored message sent to a newcomer or a resuming client, marked as history.</summary>
    public static byte[] SerializeHistory(HistoryMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Encode(new WireEvent(
            ChatMessageType, message.Sender, message.Text, ToUnixSeconds(message.SentAt), message.Id, History: true));
    }

    public static byte[] SerializeError(string message, DateTimeOffset at) =>
        Encode(new WireEvent(ErrorType, null, message, ToUnixSeconds(at)));

    /// <summary>
    /// Tells a sender over its rate that its messages are now read at that rate. An <c>error</c>, the one type every
    /// client of the original understands besides the room events, with <c>code</c> <c>paced</c>: unlike every other
    /// error it answers no message, and nothing was refused.
    /// </summary>
    public static byte[] SerializePacingNotice(string message, DateTimeOffset at) =>
        Encode(new WireEvent(ErrorType, null, message, ToUnixSeconds(at), Code: PacedCode));

    /// <summary>Unix seconds with exactly three decimals, like Python's <c>time.time()</c> rounded to milliseconds.</summary>
    public static decimal ToUnixSeconds(DateTimeOffset at)
    {
        var milliseconds = at.ToUnixTimeMilliseconds();
        var magnitude = (ulong)Math.Abs(milliseconds);
        return new decimal((int)(uint)magnitude, (int)(uint)(magnitude >> 32), 0, milliseconds < 0, 3);
    }

    private static byte[] Encode(WireEvent wireEvent) =>
        JsonSerializer.SerializeToUtf8Bytes(wireEvent, ProtocolJsonContext.Wire.WireEvent);
}
