using System.Text.Json.Serialization;

namespace Chat.Infrastructure.Protocol;

/// <summary>
/// One server-to-client frame: the original's <c>{type, user_name, message, timestamp}</c>, plus
/// <c>room_id</c> and <c>users</c> on a newcomer's own join notice only.
/// </summary>
internal sealed record WireEvent(
    string Type,
    string? UserName,
    string Message,
    decimal Timestamp,
    string? RoomId = null,
    IReadOnlyList<string>? Users = null);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WireEvent))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
