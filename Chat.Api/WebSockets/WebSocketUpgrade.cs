using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Net.Http.Headers;

namespace Chat.Api.WebSockets;

/// <summary>
/// The RFC 6455 opening handshake over HTTP/1.1, done here rather than by UseWebSockets so the upgraded transport
/// can be wrapped in a <see cref="BatchingStream"/> before the WebSocket is built on it.
/// </summary>
internal static class WebSocketUpgrade
{
    // RFC 6455 §1.3: the GUID every server appends to the client's key.
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    public static bool IsWebSocketRequest(HttpContext context)
    {
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        var headers = context.Request.Headers;
        return upgrade is { IsUpgradableRequest: true }
            && HttpMethods.IsGet(context.Request.Method)
            && HasToken(headers.Connection, "Upgrade")
            && HasToken(headers.Upgrade, "websocket")
            && headers.SecWebSocketVersion == "13"
            && IsValidKey(headers.SecWebSocketKey);
    }

    public static async Task<(WebSocket Socket, BatchingStream Transport)> AcceptAsync(
        HttpContext context, TimeSpan keepAliveInterval, TimeSpan keepAliveTimeout)
    {
        var upgrade = context.Features.GetRequiredFeature<IHttpUpgradeFeature>();
        context.Features.Get<IHttpRequestTimeoutFeature>()?.DisableTimeout();
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = null; // a socket's lifetime traffic is not a request body
        }

        var response = context.Response.Headers;
        response.Connection = "Upgrade";
        response.Upgrade = "websocket";
        response.SecWebSocketAccept = AcceptKey(context.Request.Headers.SecWebSocketKey.ToString());

        var transport = new BatchingStream(await upgrade.UpgradeAsync());
        var socket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions
        {
            IsServer = true,
            KeepAliveInterval = keepAliveInterval,
            KeepAliveTimeout = keepAliveTimeout,
        });
        return (socket, transport);
    }

#pragma warning disable CA5350 // RFC 6455 §4.2.2 prescribes SHA-1 here; it proves a WebSocket handshake, it protects nothing.
    private static string AcceptKey(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key.Trim() + AcceptGuid)));
#pragma warning restore CA5350

    private static bool IsValidKey(Microsoft.Extensions.Primitives.StringValues key)
    {
        Span<byte> decoded = stackalloc byte[16];
        return key.Count == 1
            && Convert.TryFromBase64String(key.ToString().Trim(), decoded, out var written)
            && written == 16;
    }

    private static bool HasToken(Microsoft.Extensions.Primitives.StringValues values, string token)
    {
        foreach (var value in values)
        {
            foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries))
            {
                if (part.Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
