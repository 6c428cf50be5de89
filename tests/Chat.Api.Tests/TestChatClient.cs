using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat.Api.Tests;

/// <summary>A real WebSocket client speaking the chat protocol, with a timeout on every wait.</summary>
public sealed class TestChatClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private readonly ClientWebSocket socket;

    private TestChatClient(ClientWebSocket socket) => this.socket = socket;

    public WebSocketState State => socket.State;

    public WebSocketCloseStatus? CloseStatus => socket.CloseStatus;

    public string? CloseStatusDescription => socket.CloseStatusDescription;

    /// <param name="query">More of the socket URL's query (<c>since=…&amp;epoch=…&amp;token=…</c>), already encoded.</param>
    public static async Task<TestChatClient> ConnectAsync(
        Uri baseAddress, string userName, string? room = null, string? origin = null, string? query = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        var parameters = string.Join('&', new[] { room is null ? null : "room=" + room, query }.Where(p => p is not null));
        var uri = new Uri(baseAddress, "/ws/" + Uri.EscapeDataString(userName) + (parameters.Length == 0 ? "" : "?" + parameters));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(DefaultTimeout);
        try
        {
            await socket.ConnectAsync(uri, timeout.Token);
        }
        catch
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            throw new WebSocketConnectException((int)status);
        }

        return new TestChatClient(socket);
    }

    public Task SendTextAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);

    public Task SendMessageAsync(string message) => SendTextAsync(JsonSerializer.Serialize(new { message }));

    public async Task SendAsync(byte[] payload, WebSocketMessageType type, bool endOfMessage = true)
    {
        using var timeout = Timeout();
        await socket.SendAsync(payload, type, endOfMessage, timeout.Token);
    }

    /// <summary>The next event, whatever its type.</summary>
    public async Task<JsonElement> NextEventAsync(TimeSpan? wait = null)
    {
        var message = await ReceiveTextAsync(wait) ?? throw new InvalidOperationException(
            $"The server closed the socket ({socket.CloseStatus} {socket.CloseStatusDescription}) instead of sending an event.");
        using var document = JsonDocument.Parse(message);
        return document.RootElement.Clone();
    }

    /// <summary>The next event of a type, skipping others (presence noise from concurrent joins, say).</summary>
    public async Task<JsonElement> NextEventAsync(string type, TimeSpan? wait = null)
    {
        while (true)
        {
            var next = await NextEventAsync(wait);
            if (next.GetProperty("type").GetString() == type)
            {
                return next;
            }
        }
    }

    /// <summary>Reads until the server closes, returning the close code and reason.</summary>
    public async Task<(WebSocketCloseStatus? Status, string? Reason)> WaitForCloseAsync(TimeSpan? wait = null)
    {
        while (await ReceiveTextAsync(wait) is not null)
        {
        }

        return (socket.CloseStatus, socket.CloseStatusDescription);
    }

    public async Task CloseAsync()
    {
        using var timeout = Timeout();
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
    }

    /// <summary>Drops the connection without a close frame, like a client that lost its network.</summary>
    public void Abort() => socket.Abort();

    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<string?> ReceiveTextAsync(TimeSpan? wait)
    {
        using var timeout = Timeout(wait);
        using var stream = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            stream.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(stream.ToArray());
            }
        }
    }

    private static CancellationTokenSource Timeout(TimeSpan? wait = null)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        source.CancelAfter(wait ?? DefaultTimeout);
        return source;
    }
}

public sealed class WebSocketConnectException(int statusCode)
    : Exception($"The WebSocket upgrade was refused with HTTP {statusCode}.")
{
    public int StatusCode { get; } = statusCode;
}
