using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

// An idiomatic SignalR hub with Chat's semantics (join, leave, message, names unique), the JSON hub protocol over
// WebSockets: what a .NET developer would write instead of Chat.Api. Clients connect to /hub?username=NAME.
// With ConnectionStrings:cache set (env ConnectionStrings__cache=127.0.0.1:6379), replicas share Clients.All through
// SignalR's Redis backplane, as a .NET developer would scale it out; names stay unique per replica only.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var signalR = builder.Services.AddSignalR();
if (builder.Configuration.GetConnectionString("cache") is { Length: > 0 } redis)
{
    signalR.AddStackExchangeRedis(redis, options => options.Configuration.ChannelPrefix = RedisChannel.Literal("bench-signalr"));
}

builder.Services.AddSingleton<ChatUsers>();
var app = builder.Build();

app.MapHub<ChatHub>("/hub");
app.MapGet("/stats", (ChatUsers users) => new { total_users = users.Count, total_rooms = users.Count > 0 ? 1 : 0 });

app.Run();

internal sealed class ChatUsers
{
    private readonly ConcurrentDictionary<string, string> byName = new(StringComparer.OrdinalIgnoreCase);

    public int Count => byName.Count;

    public bool TryAdd(string name, string connectionId) => byName.TryAdd(name, connectionId);

    public void Remove(string name, string connectionId) => byName.TryRemove(KeyValuePair.Create(name, connectionId));
}

internal sealed class ChatHub(ChatUsers users) : Hub
{
    private const string NameKey = "name";

    public override async Task OnConnectedAsync()
    {
        var name = Context.GetHttpContext()?.Request.Query["username"].ToString().Trim() ?? "";
        if (name.Length is 0 or > 20 || !users.TryAdd(name, Context.ConnectionId))
        {
            Context.Abort();
            return;
        }

        Context.Items[NameKey] = name;
        await Clients.All.SendAsync("UserJoined", name, $"{name} joined the chat", Now());
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items.TryGetValue(NameKey, out var value) && value is string name)
        {
            users.Remove(name, Context.ConnectionId);
            await Clients.All.SendAsync("UserLeft", name, $"{name} left the chat", Now());
        }
    }

    public async Task Send(string message)
    {
        var text = message?.Trim();
        if (text is not { Length: > 0 and <= 1000 } || Context.Items[NameKey] is not string name)
        {
            await Clients.Caller.SendAsync("Error", "Message must be 1-1000 characters.", Now());
            return;
        }

        await Clients.All.SendAsync("ReceiveMessage", name, text, Now());
    }

    private static decimal Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000m;
}
