using System.Buffers;
using System.Net.WebSockets;
using System.Text.Unicode;
using Chat.Application.Messages.SendMessage;
using Chat.Application.Messages.SignalTyping;
using Chat.Application.Rooms.LeaveRoom;
using Chat.Domain.Users;
using Chat.Infrastructure.Protocol;
using Chat.Infrastructure.Realtime;
using Chat.Infrastructure.Telemetry;
using Mediator;

namespace Chat.Api.WebSockets;

/// <summary>
/// One joined client: a reader loop that turns frames into commands, and a writer loop, the only sender of data
/// frames, that drains the client's outbox in batches, one transport write per batch. Every way the connection ends (the client closes, drops,
/// breaks the protocol, reads too slowly, or the server stops) goes through one place that announces the departure.
/// </summary>
internal sealed partial class ChatConnection(
    ConnectionId id,
    WebSocket socket,
    BatchingStream transport,
    ClientOutbox outbox,
    ISender sender,
    string room,
    ConnectionOptions options,
    ChatTelemetry telemetry,
    TimeProvider clock,
    ILogger logger) : IDisposable
{
    // Rented per message: most chat messages fit; longer ones grow the buffer for that message only.
    private const int ReceiveBufferSize = 1024;
    private const int MaxFramesPerBatch = 256;
    private static readonly TimeSpan BehindPollInterval = TimeSpan.FromMilliseconds(2);

    // Ends with a close timeout, or when the socket aborts itself (its keep-alive timed out).
    private readonly CancellationTokenSource lifetime = new();

    // The message rate as a token bucket in one field (GCRA): the time at which the bucket is full again. No timer,
    // no limiter object: a connection that only listens, or waits for its turn, holds nothing more for it.
    private long bucketFullAt;
    private bool paced;

    private CloseReason? closeReason;
    private int invalidInARow;
    private volatile bool accepting = true;
    private int handling;

    public ConnectionId Id => id;

    /// <summary>Runs until the connection is over and its user has left the room.</summary>
    public async Task RunAsync()
    {
        transport.OnDisposed = EndNow;
        outbox.OnOverflow(DropTooSlow);
        outbox.OnEvicted(eviction => RequestClose(
            eviction == Eviction.TakenOver ? CloseReason.TakenOver : CloseReason.StreamReset));
        var writer = WriteLoopAsync();
        try
        {
            if (await ReadLoopAsync() is { } violation)
            {
                closeReason ??= violation;
                telemetry.ClientDropped(violation.Status.ToString());
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
            // The peer vanished or the socket was aborted: nothing to answer, only to clean up.
        }
        catch (Exception e)
        {
            LogConnectionFailed(logger, e, id);
            closeReason ??= CloseReason.ServerError;
        }
        finally
        {
            // Whatever the room says from now on is not for this client, nor are departures still queued for it.
            outbox.MarkLeaving();
            if (closeReason is null && options.ReconnectGrace > TimeSpan.Zero)
            {
                _ = LeaveAfterGraceAsync();
            }
            else
            {
                await LeaveAsync();
            }

            outbox.Complete();
            AbortAfter(DrainTimeout);
            await writer;
            await AwaitPeerCloseAsync();
        }
    }

    public void Dispose()
    {
        socket.Dispose();
        lifetime.Dispose();
    }

    private async Task LeaveAsync()
    {
        using (ChatTelemetry.StartCommand("chat.leave", room))
        {
            await sender.Send(new LeaveRoomCommand(id), CancellationToken.None);
        }
    }

    /// <summary>
    /// A client that vanished without a word (no close frame, no reason of ours) may be back in a moment with its
    /// resume token: its name stays in the room for <c>Chat:ReconnectGrace</c>, so that a quick return takes the
    /// session over and the room hears neither a departure nor a join (the leave then finds nobody to remove).
    /// The connection itself ends now: its socket, outbox and connection slot are released at once.
    /// </summary>
    private async Task LeaveAfterGraceAsync()
    {
        try
        {
            await Task.Delay(options.ReconnectGrace, clock);
            await LeaveAsync();
        }
        catch (Exception e)
        {
            LogConnectionFailed(logger, e, id);
        }
    }

    /// <summary>True while a message this connection accepted is still being fanned out.</summary>
    public bool IsHandlingMessage => Volatile.Read(ref handling) > 0;

    /// <summary>Refuses messages from now on; those already accepted still go out.</summary>
    public void StopAccepting() => accepting = false;

    /// <summary>Asks the connection to end with this reason after sending what is already queued.</summary>
    public void RequestClose(CloseReason reason)
    {
        closeReason ??= reason;
        AbortAfter(DrainTimeout);
        outbox.Complete();
    }

    private void EndNow()
    {
        try
        {
            lifetime.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already over.
        }
    }

    /// <summary>
    /// The client stopped reading: what is queued for it is dropped, and so is it if it stays silent. Runs on the
    /// thread whose frame did not fit, so it only signals.
    /// </summary>
    private void DropTooSlow()
    {
        if (closeReason is null)
        {
            telemetry.ClientDropped("TooSlow");
        }

        closeReason ??= CloseReason.TooSlow;
        AbortAfter(options.CloseTimeout);
    }

    /// <summary>Frames already queued go out first; a client reading too slowly for that is cut off in the end.</summary>
    private TimeSpan DrainTimeout => options.CloseTimeout * 5;

    /// <summary>When the delay is up, every pending read and write on the socket is cancelled, which aborts it.</summary>
    private void AbortAfter(TimeSpan delay)
    {
        try
        {
            lifetime.CancelAfter(delay);
        }
        catch (ObjectDisposedException)
        {
            // Already over.
        }
    }

    /// <returns>The reason to close with when the client broke the protocol; null when it closed or went away.</returns>
    private async Task<CloseReason?> ReadLoopAsync()
    {
        // Between messages the loop waits with an empty buffer: the socket reads the next frame's header into its
        // own small buffer and answers pings meanwhile, so an idle connection holds no receive buffer.
        byte[]? buffer = null;
        var count = 0;
        try
        {
            while (true)
            {
                if (buffer is null)
                {
                    await WaitWhileBehindAsync();
                }
                else if (count == buffer.Length)
                {
                    buffer = Grow(buffer, count, options.MaxMessageBytes + 1);
                }

                var received = await socket.ReceiveAsync(
                    buffer is null ? Memory<byte>.Empty : buffer.AsMemory(count), lifetime.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    closeReason ??= CloseReason.Normal;
                    return null;
                }

                if (received.MessageType == WebSocketMessageType.Binary)
                {
                    return CloseReason.Binary;
                }

                if (buffer is null)
                {
                    // A message has begun (its header is in): its body is read when its turn under the rate comes.
                    await TakeTurnAsync();
                }

                count += received.Count;
                if (count > options.MaxMessageBytes)
                {
                    return CloseReason.TooBig(options.MaxMessageBytes);
                }

                if (!received.EndOfMessage)
                {
                    buffer ??= ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
                    continue;
                }

                var frame = buffer is null ? ReadOnlyMemory<byte>.Empty : buffer.AsMemory(0, count);
                if (!Utf8.IsValid(frame.Span))
                {
                    return CloseReason.InvalidUtf8;
                }

                if (closeReason is null && await HandleTextAsync(frame) is { } flooding)
                {
                    return flooding;
                }

                count = 0;
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>
    /// Backpressure on senders. A member's own queue carries everything its room sends, so a long one means the room
    /// is sending faster than the server writes (or this client reads): the next message is read once it is short
    /// again, and TCP slows the sender down. Without this, a server past its limit fills every queue and drops
    /// everyone as too slow; with it, senders wait and every reader keeps up.
    /// </summary>
    private async ValueTask WaitWhileBehindAsync()
    {
        if (outbox.Reader.Count < options.OutboundQueueCapacity || outbox.HasOverflowed)
        {
            return;
        }

        telemetry.HoldBackStarted();
        try
        {
            while (outbox.Reader.Count >= options.OutboundQueueCapacity && !outbox.HasOverflowed)
            {
                await Task.Delay(BehindPollInterval, clock, lifetime.Token);
            }
        }
        finally
        {
            telemetry.HoldBackEnded();
        }
    }

    /// <summary>
    /// Pacing. A client over its message rate is not refused: its next message is read when the bucket allows it,
    /// so every message is processed, in order, later, and meanwhile TCP slows the client down. It is told once, when
    /// pacing starts; pacing ends when the client has been under the rate long enough to refill the whole burst.
    /// </summary>
    private async ValueTask TakeTurnAsync()
    {
        var now = clock.GetTimestamp();
        var interval = clock.TimestampFrequency / options.MessagesPerSecond;
        if (bucketFullAt <= now)
        {
            bucketFullAt = now;
            paced = false;
        }

        var turn = bucketFullAt - (options.MessageBurst - 1) * interval;
        bucketFullAt += interval;
        if (turn <= now)
        {
            return;
        }

        if (!paced)
        {
            paced = true;
            outbox.TrySend(ChatEventSerializer.SerializePacingNotice(
                $"Slow down: you are sending more than {options.MessagesPerSecond} messages a second, so the rest are delivered at that pace.",
                clock.GetUtcNow()));
        }

        telemetry.PacingStarted();
        try
        {
            await Task.Delay(clock.GetElapsedTime(now, turn), clock, lifetime.Token);
        }
        finally
        {
            telemetry.PacingEnded();
        }
    }

    private async ValueTask<CloseReason?> HandleTextAsync(ReadOnlyMemory<byte> frame)
    {
        telemetry.MessageReceived();
        Interlocked.Increment(ref handling);
        try
        {
            return await HandleAcceptedTextAsync(frame);
        }
        finally
        {
            Interlocked.Decrement(ref handling);
        }
    }

    private async ValueTask<CloseReason?> HandleAcceptedTextAsync(ReadOnlyMemory<byte> frame)
    {
        // Read after the increment above, so a shutdown that saw no message in hand also sees this refusal.
        if (!accepting)
        {
            telemetry.MessageRejected("shutting_down");
            SendError("Server is shutting down; this message was not sent.");
            return null;
        }

        var text = InboundMessageParser.Parse(frame.Span, out var typing, out var parseError);
        if (typing)
        {
            // Read under the same rate as messages (its turn was taken above), relayed without any text.
            await sender.Send(new SignalTypingCommand(id), lifetime.Token);
            invalidInARow = 0;
            return null;
        }

        if (text is null)
        {
            telemetry.MessageRejected("malformed");
            return Refuse(parseError!);
        }

        using var activity = ChatTelemetry.StartCommand("chat.send", room);
        var result = await sender.Send(new SendMessageCommand(id, text), lifetime.Token);
        activity?.SetTag("chat.outcome", result.Status.ToString());
        if (!result.IsOk)
        {
            telemetry.MessageRejected(result.Status.ToString());
            return Refuse(result.Error);
        }

        invalidInARow = 0;
        return null;
    }

    /// <summary>Each refused message gets an error; a client that sends nothing valid for this long is closed.</summary>
    private CloseReason? Refuse(string error)
    {
        if (++invalidInARow >= options.FloodDisconnectAfter)
        {
            return CloseReason.TooManyInvalid;
        }

        SendError(error);
        return null;
    }

    private void SendError(string message) =>
        outbox.TrySend(ChatEventSerializer.SerializeError(message, clock.GetUtcNow()));

    private async Task WriteLoopAsync()
    {
        var reader = outbox.Reader;
        try
        {
            while (!outbox.HasOverflowed && await reader.WaitToReadAsync(CancellationToken.None))
            {
                if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
                {
                    break;
                }

                transport.BeginBatch();
                try
                {
                    for (var n = 0; n < MaxFramesPerBatch && !outbox.HasOverflowed && reader.TryRead(out var frame); n++)
                    {
                        transport.AppendTextFrame(frame);
                    }
                }
                finally
                {
                    await FlushAsync();
                }
            }

            // The overflow callback may still be running on another thread; the outbox already knows why we stopped.
            var reason = closeReason ?? (outbox.HasOverflowed ? CloseReason.TooSlow : null);
            if (reason is not null && socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(reason.Value.Status, reason.Value.FittedDescription, lifetime.Token);

                // Our close is out: the peer now has CloseTimeout to answer it.
                AbortAfter(options.CloseTimeout);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The socket went away under the writer; the reader sees the same and ends the connection.
            socket.Abort();
        }
    }

    /// <summary>A write that cannot complete at once means the client is not taking data: the outbox then says so.</summary>
    private async ValueTask FlushAsync()
    {
        var flush = transport.FlushBatchAsync(lifetime.Token);
        if (flush.IsCompleted)
        {
            await flush;
            return;
        }

        outbox.StallStarted();
        try
        {
            await flush;
        }
        finally
        {
            outbox.StallEnded();
        }
    }

    /// <summary>After our close frame, give the peer a moment to answer it so its close is clean.</summary>
    private async Task AwaitPeerCloseAsync()
    {
        var drain = ArrayPool<byte>.Shared.Rent(256);
        try
        {
            while (socket.State == WebSocketState.CloseSent)
            {
                await socket.ReceiveAsync(drain.AsMemory(), lifetime.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed or timed out: either way we are done.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(drain);
        }
    }

    private static byte[] Grow(byte[] buffer, int used, int limit)
    {
        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit));
        buffer.AsSpan(0, used).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection {ConnectionId} failed")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception, ConnectionId connectionId);
}
