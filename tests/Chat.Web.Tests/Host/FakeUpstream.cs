using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Chat.Web.Tests.Host;

/// <summary>
/// Stands in for Chat.Api: answers any HTTP request with what it received, and over a WebSocket sends what it
/// received, then echoes text frames and closes with 1008 when told "close".
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    public const string RefusalReason = "Refused by the fake upstream.";

    private readonly WebApplication app;

    private FakeUpstream(WebApplication app, Uri address)
    {
        this.app = app;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<FakeUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(HandleAsync);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new FakeUpstream(app, new Uri(app.Urls.First()));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var seen = new ReceivedRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "",
            context.Request.QueryString.Value ?? "",
            context.Request.Headers.Origin.ToString(),
            context.Request.Headers["X-Forwarded-Host"].ToString(),
            // Long enough that compression would kick in if anything on the way applied it.
            new string('x', 2048));

        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.Headers["X-Upstream"] = "fake";
            await context.Response.WriteAsJsonAsync(seen, context.RequestAborted);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(seen, JsonSerializerOptions.Web), WebSocketMessageType.Text, true, context.RequestAborted);
        var buffer = new byte[4096];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
                return;
            }

            var text = Encoding.UTF8.GetString(buffer, 0, result.Count);
            if (text == "close")
            {
                await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, RefusalReason, context.RequestAborted);
                return;
            }

            await socket.SendAsync(Encoding.UTF8.GetBytes("echo:" + text), WebSocketMessageType.Text, true, context.RequestAborted);
        }
    }
}

public sealed record ReceivedRequest(string Method, string Path, string Query, string Origin, string ForwardedHost, string Padding);
