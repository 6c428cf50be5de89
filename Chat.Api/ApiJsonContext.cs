using System.Text.Json;
using System.Text.Json.Serialization;
using Chat.Api.History;
using Chat.Application.Stats.GetRoomStats;
using Chat.Application.Stats.GetStats;

namespace Chat.Api;

/// <summary>The HTTP routes' JSON, in the original's snake_case.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ChatStats))]
[JsonSerializable(typeof(RoomStats))]
[JsonSerializable(typeof(MessagePageResponse))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(string))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
