using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;

// The least code that speaks Chat's protocol on ASP.NET Core's own WebSockets: one SendAsync per frame per
// recipient, drained by one send loop per connection (a WebSocket takes one send at a time). It is the baseline
// the performance issue compares Chat.Api against, not a product: one process, in memory, no validation beyond length.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.ConfigureHttpJsonOptions(o =>
{
    o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
    o.SerializerOptions.TypeInfoResolverChain.Insert(0, WireJson.Default);
});
var app = builder.Build();
app.UseWebSockets();

var rooms = new ConcurrentDictionary<string, Room>(StringComparer.OrdinalIgnoreCase);
var queueCapacity = app.Configuration.GetValue("Chat:OutboundQueueCapacity", 1024);

app.MapGet("/stats", () => new Stats(rooms.Values.Sum(r => r.Count), rooms.Count));

app.Map("/ws/{username}", async (HttpContext context, string username) =>
{
    if (!context.WebSockets.IsWebSocketRequest)
    {
        return Results.StatusCode(StatusCodes.Status426UpgradeRequired);
    }

    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    var name = username.Trim();
    var roomId = context.Request.Query["room"] is { Count: > 0 } r ? r.ToString() : "general";
    var room = rooms.GetOrAdd(roomId, id => new Room(id));
    var member = new Member(name, socket, queueCapacity);
    if (name.Length is 0 or > 20 || !room.TryJoin(member))
    {
        await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "Name refused", CancellationToken.None);
        return Results.Empty;
    }

    var writer = member.SendLoopAsync();
    try
    {
        var buffer = new byte[4096];
        while (true)
        {
            var count = 0;
            ValueWebSocketReceiveResult received;
            do
            {
                if (count == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                received = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                count += received.Count;
            }
            while (!received.EndOfMessage && count < 64 * 1024);

            if (received.MessageType != WebSocketMessageType.Text)
            {
                break;
            }

            var text = ParseMessage(buffer.AsSpan(0, count));
            if (text is null)
            {
                member.Queue(Wire.Encode(new WireEvent("error", null, "Message must be 1-1000 characters.", Wire.Now())));
                continue;
            }

            room.Broadcast(Wire.Encode(new WireEvent("chat_message", name, text, Wire.Now())));
        }
    }
    catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
    {
    }
    finally
    {
        room.Leave(member);
        member.Complete();
        await writer;
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
            {
            }
        }
    }

    return Results.Empty;
});

app.Run();

// Plain text, or {"message": "..."}; 1-1000 characters after trimming.
static string? ParseMessage(ReadOnlySpan<byte> frame)
{
    string? text;
    if (frame.Length > 0 && frame[0] == (byte)'{')
    {
        try
        {
            text = JsonSerializer.Deserialize(frame, WireJson.Default.InboundMessage)?.Message;
        }
        catch (JsonException)
        {
            return null;
        }
    }
    else
    {
        text = Encoding.UTF8.GetString(frame);
    }

    text = text?.Trim();
    return text is { Length: > 0 and <= 1000 } ? text : null;
}

internal sealed class Room(string id)
{
    private readonly Lock gate = new();
    private Member[] members = [];

    public int Count => Volatile.Read(ref members).Length;

    public bool TryJoin(Member member)
    {
        lock (gate)
        {
            if (members.Any(m => string.Equals(m.Name, member.Name, StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }

            members = [.. members, member];
            var now = Wire.Now();
            // The newcomer's own notice first, with who is here; then everyone else's.
            member.Queue(Wire.Encode(new WireEvent(
                "user_joined", member.Name, $"{member.Name} joined the chat", now, id, [.. members.Select(m => m.Name)])));
            Send(Wire.Encode(new WireEvent("user_joined", member.Name, $"{member.Name} joined the chat", now)), except: member);
            return true;
        }
    }

    public void Leave(Member member)
    {
        lock (gate)
        {
            if (!members.Contains(member))
            {
                return;
            }

            members = [.. members.Where(m => m != member)];
            Send(Wire.Encode(new WireEvent("user_left", member.Name, $"{member.Name} left the chat", Wire.Now())), except: null);
        }
    }

    public void Broadcast(byte[] frame) => Send(frame, except: null);

    private void Send(byte[] frame, Member? except)
    {
        foreach (var member in Volatile.Read(ref members))
        {
            if (member != except)
            {
                member.Queue(frame);
            }
        }
    }
}

internal sealed class Member(string name, WebSocket socket, int capacity)
{
    private readonly Channel<byte[]> outbox = Channel.CreateBounded<byte[]>(
        new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public string Name => name;

    /// <summary>
    /// Never waits: a member whose queue is full is too slow and is dropped. Aborted rather than closed, since its
    /// send loop is stuck behind the very frames it does not read, so a close frame could not get through.
    /// </summary>
    public void Queue(byte[] frame)
    {
        if (!outbox.Writer.TryWrite(frame) && outbox.Writer.TryComplete())
        {
            socket.Abort();
        }
    }

    public void Complete() => outbox.Writer.TryComplete();

    public async Task SendLoopAsync()
    {
        try
        {
            await foreach (var frame in outbox.Reader.ReadAllAsync())
            {
                await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}

internal sealed record WireEvent(
    string Type, string? UserName, string Message, decimal Timestamp, string? RoomId = null, string[]? Users = null);

internal sealed record InboundMessage(string? Message);

internal sealed record Stats(int TotalUsers, int TotalRooms);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WireEvent))]
[JsonSerializable(typeof(InboundMessage))]
[JsonSerializable(typeof(Stats))]
internal sealed partial class WireJson : JsonSerializerContext;

internal static class Wire
{
    public static byte[] Encode(WireEvent e) => JsonSerializer.SerializeToUtf8Bytes(e, WireJson.Default.WireEvent);

    /// <summary>Unix seconds with millisecond precision, as the original sends.</summary>
    public static decimal Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000m;
}
