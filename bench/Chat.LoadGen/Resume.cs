using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat.LoadGen;

/// <summary>
/// Recovery: a client leaves, a sender posts <c>--missed</c> messages (1,000) to the room, and the client comes back
/// with <c>since</c> and <c>epoch</c>. Timed from opening its socket until the last missed message arrived, over
/// <c>--rounds</c> rounds on one server. Needs a server with history (Chat.Api since issue 13).
/// </summary>
internal static class Resume
{
    public static async Task<Result> RunAsync(Settings settings)
    {
        var missed = settings.Int("missed", 1000);
        var rounds = settings.Int("rounds", 20);
        var room = settings.Room + "-resume";
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(settings.MaxSeconds));
        var token = budget.Token;
        var result = new Result("resume", settings.Label).Add("missed", missed).Add("rounds", rounds);
        var times = new List<double>();
        var failures = new List<string>();

        using var sender = await ConnectAsync(settings, $"/ws/resumesender?room={room}", token);
        var lastEcho = 0L;
        var echoed = new SemaphoreSlim(0);
        var expected = string.Empty;
        // The sender reads its own echoes as they come: a sender that stopped reading would be dropped as too slow.
        var senderReads = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                var frame = await ReadAsync(sender, token);
                if (frame is null)
                {
                    return;
                }

                using var json = JsonDocument.Parse(frame);
                if (json.RootElement.GetProperty("type").GetString() == "chat_message"
                    && json.RootElement.GetProperty("message").GetString() == Volatile.Read(ref expected))
                {
                    Volatile.Write(ref lastEcho, json.RootElement.GetProperty("id").GetInt64());
                    echoed.Release();
                }
            }
        }, token);

        for (var round = 0; round < rounds; round++)
        {
            var name = $"resumer{round}";
            // 1. Join, see one live message, note its id and the epoch, leave.
            string epoch;
            using (var reader = await ConnectAsync(settings, $"/ws/{name}?room={room}", token))
            {
                epoch = await ReadWelcomeAsync(reader, token);
                var mark = $"mark {round}";
                await PostAndWaitEchoAsync(mark);
                await ReadUntilAsync(reader, json => json.GetProperty("message").GetString() == mark, token);
                await reader.CloseAsync(WebSocketCloseStatus.NormalClosure, null, token);
            }

            var since = Volatile.Read(ref lastEcho);
            // 2. The room goes on without it.
            for (var i = 1; i <= missed; i++)
            {
                var text = $"missed {round}.{i}";
                if (i == missed)
                {
                    await PostAndWaitEchoAsync(text);
                }
                else
                {
                    await SendAsync(sender, text, token);
                }
            }

            // 3. Back with since and epoch: timed until the last missed message arrived.
            var started = Stopwatch.GetTimestamp();
            using var back = await ConnectAsync(settings, $"/ws/{name}?room={room}&since={since}&epoch={Uri.EscapeDataString(epoch)}", token);
            var welcome = await ReadUntilAsync(back, json => json.GetProperty("type").GetString() == "user_joined"
                && json.TryGetProperty("epoch", out _), token);
            if (!welcome.TryGetProperty("recovered", out var recovered) || !recovered.GetBoolean())
            {
                failures.Add($"round {round}: recovered false");
                continue;
            }

            var history = 0;
            var last = $"missed {round}.{missed}";
            await ReadUntilAsync(back, json =>
            {
                if (json.GetProperty("type").GetString() != "chat_message")
                {
                    return false;
                }

                history += json.TryGetProperty("history", out _) ? 1 : 0;
                return json.GetProperty("message").GetString() == last;
            }, token);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (history != missed)
            {
                failures.Add($"round {round}: {history} history messages, expected {missed}");
            }

            await back.CloseAsync(WebSocketCloseStatus.NormalClosure, null, token);
        }

        // Its reader is still receiving: send our close and let the reader see the server's.
        await sender.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, token);
        try
        {
            await senderReads.WaitAsync(TimeSpan.FromSeconds(5), token);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or WebSocketException)
        {
        }

        await budget.CancelAsync();

        times.Sort();
        result.Add("resumed", times.Count);
        if (times.Count > 0)
        {
            result.Add("resume_ms_median", times[times.Count / 2]);
            result.Add("resume_ms_min", times[0]);
            result.Add("resume_ms_max", times[^1]);
            result.Add("resume_ms_all", string.Join(" ", times.Select(t => Result.Format(Math.Round(t, 1)))));
        }

        result.Add("failures", failures.Count == 0 ? "none" : string.Join("; ", failures));
        return result;

        async Task PostAndWaitEchoAsync(string text)
        {
            Volatile.Write(ref expected, text);
            await SendAsync(sender, text, token);
            await echoed.WaitAsync(token);
        }
    }

    private static async Task<ClientWebSocket> ConnectAsync(Settings settings, string path, CancellationToken token)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{settings.Url.Host}:{settings.Url.Port}{path}"), token);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string text, CancellationToken token) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, token);

    private static async Task<string> ReadWelcomeAsync(ClientWebSocket socket, CancellationToken token)
    {
        var welcome = await ReadUntilAsync(socket, json => json.GetProperty("type").GetString() == "user_joined"
            && json.TryGetProperty("epoch", out _), token);
        return welcome.GetProperty("epoch").GetString()!;
    }

    private static async Task<JsonElement> ReadUntilAsync(ClientWebSocket socket, Func<JsonElement, bool> done, CancellationToken token)
    {
        while (true)
        {
            var frame = await ReadAsync(socket, token)
                ?? throw new InvalidOperationException($"Closed: {socket.CloseStatus} {socket.CloseStatusDescription}");
            using var json = JsonDocument.Parse(frame);
            if (done(json.RootElement))
            {
                return json.RootElement.Clone();
            }
        }
    }

    private static async Task<byte[]?> ReadAsync(ClientWebSocket socket, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var received = await socket.ReceiveAsync(buffer.AsMemory(length), token);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            length += received.Count;
            if (received.EndOfMessage)
            {
                return buffer[..length];
            }
        }
    }
}
