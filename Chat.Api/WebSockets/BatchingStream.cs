using System.Buffers;

namespace Chat.Api.WebSockets;

/// <summary>
/// Wraps the upgraded transport so that the frames a writer sends between <see cref="BeginBatch"/> and
/// <see cref="FlushBatchAsync"/> reach the transport as one write. The per-write cost, not encoding, bounds a chat
/// server's fan-out, and a batch only grows when frames are already waiting, so it costs no latency.
/// The batch buffer is rented only while a batch is open: an idle connection holds none.
/// </summary>
internal sealed class BatchingStream(Stream transport) : Stream
{
    private const int InitialBatchSize = 4096;

    // Control frames (pings, pongs, close) may be written by the WebSocket itself while a batch is open or being
    // flushed, so appends take a lock and transport writes are serialised.
    private readonly Lock batchLock = new();
    private readonly SemaphoreSlim transportLock = new(1, 1);
    private byte[]? batch;
    private int batchLength;
    private bool batching;

    /// <summary>
    /// Runs when the WebSocket disposes its stream, which is how it aborts (a keep-alive timeout, say): a read
    /// pending on the transport is not woken by that alone, so the connection cancels it from here.
    /// </summary>
    public Action? OnDisposed { get; set; }

    public void BeginBatch()
    {
        lock (batchLock)
        {
            batching = true;
        }
    }

    /// <summary>
    /// Appends one complete, unmasked text frame (RFC 6455 §5.2: FIN and opcode 1, then the payload length in 7,
    /// 7+16 or 7+64 bits) to the open batch. Writing data frames here rather than through the WebSocket saves its
    /// per-send lock, buffer rental and copy; control frames still go through the WebSocket, whole, into the same
    /// ordered stream of frames.
    /// </summary>
    public void AppendTextFrame(ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[10];
        header[0] = 0x81;
        int headerLength;
        if (payload.Length < 126)
        {
            header[1] = (byte)payload.Length;
            headerLength = 2;
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header[1] = 126;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)payload.Length);
            headerLength = 4;
        }
        else
        {
            header[1] = 127;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)payload.Length);
            headerLength = 10;
        }

        lock (batchLock)
        {
            if (!batching)
            {
                throw new InvalidOperationException("No batch is open.");
            }

            Append(header[..headerLength]);
            Append(payload);
        }
    }

    public async ValueTask FlushBatchAsync(CancellationToken cancellationToken)
    {
        byte[]? pending;
        int length;
        lock (batchLock)
        {
            (pending, length) = (batch, batchLength);
            (batch, batchLength, batching) = (null, 0, false);
        }

        if (pending is null)
        {
            return;
        }

        try
        {
            await transportLock.WaitAsync(cancellationToken);
            try
            {
                await transport.WriteAsync(pending.AsMemory(0, length), cancellationToken);
            }
            finally
            {
                transportLock.Release();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (batchLock)
        {
            if (batching)
            {
                Append(buffer.Span);
                return ValueTask.CompletedTask;
            }
        }

        return WriteThroughAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        transport.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        transport.ReadAsync(buffer, offset, count, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => transport.FlushAsync(cancellationToken);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush() => transport.Flush();

    public override int Read(byte[] buffer, int offset, int count) => transport.Read(buffer, offset, count);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            OnDisposed?.Invoke();
            transport.Dispose();
            transportLock.Dispose();
            lock (batchLock)
            {
                if (batch is not null)
                {
                    ArrayPool<byte>.Shared.Return(batch);
                    batch = null;
                }
            }
        }

        base.Dispose(disposing);
    }

    private async ValueTask WriteThroughAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await transportLock.WaitAsync(cancellationToken);
        try
        {
            await transport.WriteAsync(buffer, cancellationToken);
        }
        finally
        {
            transportLock.Release();
        }
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (batch is null || batch.Length - batchLength < data.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(InitialBatchSize, Math.Max(batchLength + data.Length, (batch?.Length ?? 0) * 2)));
            if (batch is not null)
            {
                batch.AsSpan(0, batchLength).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(batch);
            }

            batch = larger;
        }

        data.CopyTo(batch.AsSpan(batchLength));
        batchLength += data.Length;
    }
}
