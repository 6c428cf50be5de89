using System.Net.WebSockets;
using Chat.Api.WebSockets;

namespace Chat.Api.Tests;

public sealed class BatchingStreamTests
{
    [Fact]
    public async Task A_batch_of_frames_of_every_length_class_reaches_the_transport_as_one_write_a_client_can_read()
    {
        int[] lengths = [0, 1, 125, 126, 65_535, 65_536, 200_000];
        var transport = new CountingStream();
        await using var stream = new BatchingStream(transport);

        stream.BeginBatch();
        foreach (var length in lengths)
        {
            stream.AppendTextFrame(Payload(length));
        }

        await stream.FlushBatchAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, transport.Writes);
        using var client = WebSocket.CreateFromStream(new MemoryStream(transport.ToArray()), new WebSocketCreationOptions { IsServer = false });
        foreach (var length in lengths)
        {
            var buffer = new byte[length + 1];
            var result = await client.ReceiveAsync(buffer, TestContext.Current.CancellationToken);
            Assert.Equal(WebSocketMessageType.Text, result.MessageType);
            Assert.True(result.EndOfMessage);
            Assert.Equal(Payload(length), buffer[..result.Count]);
        }
    }

    [Fact]
    public async Task Writes_outside_a_batch_pass_straight_through()
    {
        var transport = new CountingStream();
        await using var stream = new BatchingStream(transport);

        await stream.WriteAsync(new byte[] { 1, 2, 3 }, TestContext.Current.CancellationToken);
        await stream.WriteAsync(new byte[] { 4 }, TestContext.Current.CancellationToken);

        Assert.Equal(2, transport.Writes);
        Assert.Equal([1, 2, 3, 4], transport.ToArray());
    }

    [Fact]
    public void Appending_without_an_open_batch_is_a_bug()
    {
        using var stream = new BatchingStream(new MemoryStream());
        Assert.Throws<InvalidOperationException>(() => stream.AppendTextFrame("x"u8));
    }

    private static byte[] Payload(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)('a' + (i % 26)))];

    private sealed class CountingStream : MemoryStream
    {
        public int Writes { get; private set; }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes++;
            return base.WriteAsync(buffer, cancellationToken);
        }
    }
}
