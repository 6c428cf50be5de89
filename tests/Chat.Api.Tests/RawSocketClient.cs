using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Chat.Api.Tests;

/// <summary>
/// A client that completes the WebSocket handshake over a tiny receive buffer and then never reads, the way a
/// stalled phone or a hostile peer behaves; ClientWebSocket always reads into its own buffer, so it cannot.
/// </summary>
public sealed class RawSocketClient : IAsyncDisposable
{
    private readonly TcpClient tcp;

    private RawSocketClient(TcpClient tcp) => this.tcp = tcp;

    public static async Task<RawSocketClient> ConnectAsync(Uri httpAddress, string userName)
    {
        var tcp = new TcpClient { ReceiveBufferSize = 4096 };
        await tcp.ConnectAsync(httpAddress.Host, httpAddress.Port, TestContext.Current.CancellationToken);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = $"GET /ws/{Uri.EscapeDataString(userName)} HTTP/1.1\r\nHost: {httpAddress.Authority}\r\n" +
                      $"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), TestContext.Current.CancellationToken);

        // Read just the response head, leaving frames unread in the kernel buffer.
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, TestContext.Current.CancellationToken) == 0)
            {
                break;
            }

            head.Append((char)one[0]);
        }

        Assert.StartsWith("HTTP/1.1 101", head.ToString(), StringComparison.Ordinal);
        return new RawSocketClient(tcp);
    }

    public ValueTask DisposeAsync()
    {
        tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
