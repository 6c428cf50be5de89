using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;

namespace Chat.Infrastructure.Protocol;

/// <summary>
/// One server-to-client frame: the original's <c>{type, user_name, message, timestamp}</c>, plus <c>id</c> on chat
/// messages (and <c>history: true</c> on those sent from history), on a newcomer's own join notice only
/// <c>room_id</c>, <c>users</c>, <c>epoch</c>, <c>resume_token</c> and, when it asked to resume, <c>recovered</c>, and
/// <c>code</c> on the pacing notice only. A <c>typing</c> event (to clients that asked for it) has no <c>message</c>.
/// </summary>
internal sealed record WireEvent(
    string Type,
    string? UserName,
    string? Message,
    decimal Timestamp,
    long? Id = null,
    bool? History = null,
    string? RoomId = null,
    IReadOnlyList<string>? Users = null,
    string? Epoch = null,
    bool? Recovered = null,
    string? ResumeToken = null,
    string? Code = null);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WireEvent))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Letters of every script go out as UTF-8 rather than \u escapes (a third of the bytes for most non-Latin text);
    /// HTML-significant characters stay escaped.
    /// </summary>
    public static ProtocolJsonContext Wire { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.Create(UnicodeRanges.All),
    });
}
