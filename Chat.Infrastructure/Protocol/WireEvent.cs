using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;

namespace Chat.Infrastructure.Protocol;

/// <summary>
/// One server-to-client frame: the original's <c>{type, user_name, message, timestamp}</c>, plus
/// <c>room_id</c> and <c>users</c> on a newcomer's own join notice only, and <c>code</c> on the pacing notice only.
/// </summary>
internal sealed record WireEvent(
    string Type,
    string? UserName,
    string Message,
    decimal Timestamp,
    string? RoomId = null,
    IReadOnlyList<string>? Users = null,
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
