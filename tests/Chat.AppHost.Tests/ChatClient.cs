using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat.AppHost.Tests;

/// <summary>A browser-like chat client: a real WebSocket with an Origin header, a timeout on every wait.</summary>
public sealed class ChatClient : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly ClientWebSocket socket;

    private ChatClient(ClientWebSocket socket) => this.socket = socket;

    public static async Task<ChatClient> ConnectAsync(Uri address, string userName, string room, string origin)
    {
        var socket = Socket(origin);
        using var timeout = TimeoutSource();
        try
        {
            await socket.ConnectAsync(SocketUri(address, userName, room), timeout.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ChatClient(socket);
    }

    /// <summary>Tries to connect and returns the HTTP status of the refused upgrade.</summary>
    public static async Task<HttpStatusCode> ConnectRefusedAsync(Uri address, string userName, string room, string origin)
    {
        using var socket = Socket(origin);
        using var timeout = TimeoutSource();
        try
        {
            await socket.ConnectAsync(SocketUri(address, userName, room), timeout.Token);
        }
        catch (WebSocketException)
        {
            return socket.HttpStatusCode;
        }

        throw new InvalidOperationException("The WebSocket upgrade was accepted.");
    }

    public async Task SendMessageAsync(string message)
    {
        using var timeout = TimeoutSource();
        var frame = JsonSerializer.SerializeToUtf8Bytes(new { message });
        await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>The next event of <paramref name="type"/>, skipping others.</summary>
    public async Task<JsonElement> NextEventAsync(string type)
    {
        while (true)
        {
            using var document = JsonDocument.Parse(await ReceiveTextAsync());
            if (document.RootElement.GetProperty("type").GetString() == type)
            {
                return document.RootElement.Clone();
            }
        }
    }

    /// <summary>The closing handshake, both ways: sends 1000 and waits for the server's close.</summary>
    public async Task CloseAsync()
    {
        using var timeout = TimeoutSource();
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
    }

    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<string> ReceiveTextAsync()
    {
        using var timeout = TimeoutSource();
        using var text = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"The server closed the socket ({socket.CloseStatus} {socket.CloseStatusDescription}).");
            }

            text.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(text.ToArray());
            }
        }
    }

    private static ClientWebSocket Socket(string origin)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", origin);
        return socket;
    }

    private static Uri SocketUri(Uri address, string userName, string room) =>
        new UriBuilder(address) { Scheme = "ws", Path = "/ws/" + Uri.EscapeDataString(userName), Query = "room=" + room }.Uri;

    private static CancellationTokenSource TimeoutSource()
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        source.CancelAfter(Timeout);
        return source;
    }
}
