using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Chat.LoadGen;

internal enum WireProtocol
{
    Chat,
    SignalR,
}

internal enum EventKind
{
    Message,
    Joined,
    Left,
    Error,
    Other,
}

/// <summary>
/// A lean RFC 6455 client over a raw <see cref="Socket"/>: masks what it sends (§5.3), parses every server frame in
/// a receive without copying, answers pings, and records what it receives. One receive loop per client; senders call
/// <see cref="Send"/> from the pacing thread.
/// </summary>
internal sealed class LoadClient : IDisposable
{
    private const byte RecordSeparator = 0x1e;

    private static readonly byte[] MessageMarker = "\"#"u8.ToArray();
    private static readonly byte[] HistoryFlag = ",\"history\":true}"u8.ToArray();
    private static readonly byte[] ChatTypePrefix = "{\"type\":\""u8.ToArray();
    private static readonly byte[] UserNameKey = "\"user_name\":\""u8.ToArray();
    private static readonly byte[] TargetKey = "\"target\":\""u8.ToArray();
    private static readonly byte[] ArgumentsKey = "\"arguments\":[\""u8.ToArray();
    private static readonly byte[] IdKey = ",\"id\":"u8.ToArray();
    private static readonly byte[] UsersKey = "\"users\":["u8.ToArray();

    private readonly Socket socket;
    private readonly Lock sendLock = new();
    private readonly WireProtocol protocol;
    private readonly RunWindow window;
    private readonly MessageIds? ids;
    private readonly byte[] controlFrame = new byte[140];
    private readonly byte[] message = new byte[128 + Padding];
    private readonly int bufferSize;
    private byte[] buffer;
    private int start;
    private int end;
    private byte[]? fragments;
    private int fragmentsLength;
    private byte[] records = [];
    private int recordsLength;
    private uint maskSeed;
    private TaskCompletionSource? resume;
    private byte[] pending = new byte[256];
    private byte[] inFlight = new byte[256];
    private int pendingLength;
    private bool flushing;
    private bool sendFailed;

    private LoadClient(
        Socket socket, string name, int index, WireProtocol protocol, RunWindow window, MessageIds? ids, int senders, int bufferSize)
    {
        this.socket = socket;
        this.bufferSize = bufferSize;
        buffer = new byte[bufferSize];
        Name = name;
        Index = index;
        this.protocol = protocol;
        this.window = window;
        this.ids = ids;
        LastSequence = new long[Math.Max(senders, 1)];
        Array.Fill(LastSequence, -1);
        maskSeed = (uint)RandomNumberGenerator.GetInt32(1, int.MaxValue);
    }

    public string Name { get; }

    public int Index { get; }

    public Histogram Latency { get; } = new();

    /// <summary>Chat messages received, ever, and per sender the highest sequence number seen.</summary>
    public long Deliveries;
    public long[] LastSequence { get; }
    public long Duplicates;
    public long OutOfOrder;

    /// <summary>
    /// Chat messages that carried an id; those whose id was not above the last one this client saw (one order per
    /// room); those whose id differs from the one another receiver saw for the same message.
    /// </summary>
    public long IdsSeen;
    public long IdsNotIncreasing;
    public long IdMismatches;
    public long LastId;
    public long Joins;
    public long Lefts;
    public long Errors;
    public long Frames;
    public long Receives;
    public long PingsAnswered;

    /// <summary>Set when a close frame arrived or the connection ended.</summary>
    public int CloseCode;
    public string? CloseReason;
    public bool Closed;
    public long ClosedAt;

    /// <summary>Called for every user_left, with the name of who left.</summary>
    public Action<LoadClient, string>? UserLeft { get; set; }

    /// <summary>
    /// When set, the departures this client is owed, by client index: each user_left of an owed one clears it and
    /// counts in <see cref="OwedLefts"/>; any other (a duplicate, someone who did not leave) counts in
    /// <see cref="UnexpectedLefts"/>. Names end in "x{index}".
    /// </summary>
    public bool[]? Owed { get; set; }

    public long OwedLefts;
    public long UnexpectedLefts;

    /// <summary>
    /// Across replicas: the names this client knows to be in its room, from its welcome's <c>users</c> and the join
    /// notices since; a join notice for a name it already knew counts in <see cref="JoinsOfPresent"/> (on one server
    /// a client hears its own join and later ones only).
    /// </summary>
    public HashSet<string>? Present { get; set; }

    public long JoinsOfPresent;

    public static async Task<LoadClient> ConnectAsync(
        IPEndPoint server, string path, string name, int index, WireProtocol protocol, RunWindow window, MessageIds? ids,
        int senders, int receiveBufferSize, int bufferSize, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize > 0)
        {
            socket.ReceiveBufferSize = receiveBufferSize;
        }

        var client = new LoadClient(socket, name, index, protocol, window, ids, senders, bufferSize);
        try
        {
            await socket.ConnectAsync(server, cancellationToken);
            await client.HandshakeAsync(server, path, cancellationToken);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Starts the receive loop; a paused client stops calling receive until <see cref="Resume"/>.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Task.Run(() => ReceiveLoopAsync(cancellationToken), CancellationToken.None);

    public void Pause() => Volatile.Write(ref resume, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Resume() => Interlocked.Exchange(ref resume, null)?.TrySetResult();

    /// <summary>Filler characters appended to every message, to make frames as large as a scenario needs.</summary>
    public static int Padding { get; set; }

    /// <summary>Appends one chat message frame carrying this sender's index, sequence number and the send time.</summary>
    public void SendChat(int sender, long sequence, Span<byte> scratch, ref int length)
    {
        var prefix = protocol == WireProtocol.SignalR ? "{\"type\":1,\"target\":\"Send\",\"arguments\":[\""u8 : default;
        var suffix = protocol == WireProtocol.SignalR ? "\"]}\u001e"u8 : default;
        var text = message.AsSpan();
        prefix.CopyTo(text);
        var n = prefix.Length;
        text[n++] = (byte)'#';
        Utf8Formatter.TryFormat(sender, text[n..], out var w);
        n += w;
        text[n++] = (byte)':';
        Utf8Formatter.TryFormat(sequence, text[n..], out w);
        n += w;
        text[n++] = (byte)':';
        Utf8Formatter.TryFormat(Stopwatch.GetTimestamp(), text[n..], out w);
        n += w;
        if (Padding > 0)
        {
            text[n++] = (byte)':';
            text.Slice(n, Padding).Fill((byte)'x');
            n += Padding;
        }

        suffix.CopyTo(text[n..]);
        n += suffix.Length;
        length += WriteFrame(scratch[length..], 0x1, text[..n]);
    }

    /// <summary>
    /// Queues whole frames for this socket's one sender task and returns at once: a server that stops reading must
    /// never block the pacing thread (or the other senders). False once the socket has failed.
    /// </summary>
    public bool Send(ReadOnlySpan<byte> frames)
    {
        bool start;
        lock (sendLock)
        {
            if (sendFailed)
            {
                return false;
            }

            if (pending.Length - pendingLength < frames.Length)
            {
                Array.Resize(ref pending, Math.Max(pending.Length * 2, pendingLength + frames.Length));
            }

            frames.CopyTo(pending.AsSpan(pendingLength));
            pendingLength += frames.Length;
            start = !flushing;
            flushing = true;
        }

        if (start)
        {
            _ = FlushAsync();
        }

        return true;
    }

    /// <summary>Bytes queued but not yet handed to the socket.</summary>
    public int PendingBytes
    {
        get
        {
            lock (sendLock)
            {
                return pendingLength;
            }
        }
    }

    public bool SendText(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        var frame = new byte[payload.Length + 14];
        return Send(frame.AsSpan(0, WriteFrame(frame, 0x1, payload)));
    }

    public bool SendSignalRPing() => SendText("{\"type\":6}\u001e");

    /// <summary>Starts the closing handshake (§5.5.1) with 1000.</summary>
    public void Close()
    {
        Span<byte> frame = stackalloc byte[16];
        Span<byte> code = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(code, 1000);
        Send(frame[..WriteFrame(frame, 0x8, code)]);
    }

    public void Dispose()
    {
        Resume();
        socket.Dispose();
    }

    /// <summary>Writes one masked client frame (§5.2) and returns its length.</summary>
    public int WriteFrame(Span<byte> destination, int opcode, ReadOnlySpan<byte> payload)
    {
        destination[0] = (byte)(0x80 | opcode);
        int header;
        if (payload.Length < 126)
        {
            destination[1] = (byte)(0x80 | payload.Length);
            header = 2;
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            destination[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payload.Length);
            header = 4;
        }
        else
        {
            destination[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payload.Length);
            header = 10;
        }

        // §10.3 wants an unpredictable key against proxy cache poisoning; on loopback a xorshift keeps it cheap.
        maskSeed ^= maskSeed << 13;
        maskSeed ^= maskSeed >> 17;
        maskSeed ^= maskSeed << 5;
        var mask = destination.Slice(header, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(mask, maskSeed);
        var body = destination.Slice(header + 4, payload.Length);
        for (var i = 0; i < payload.Length; i++)
        {
            body[i] = (byte)(payload[i] ^ mask[i & 3]);
        }

        return header + 4 + payload.Length;
    }

    private async Task FlushAsync()
    {
        try
        {
            while (true)
            {
                byte[] batch;
                int length;
                lock (sendLock)
                {
                    if (pendingLength == 0)
                    {
                        flushing = false;
                        return;
                    }

                    (batch, pending, inFlight) = (pending, inFlight, pending);
                    length = pendingLength;
                    pendingLength = 0;
                }

                await socket.SendAsync(batch.AsMemory(0, length), SocketFlags.None);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            lock (sendLock)
            {
                sendFailed = true;
                flushing = false;
            }
        }
    }

    private async Task HandshakeAsync(IPEndPoint server, string path, CancellationToken cancellationToken)
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = $"GET {path} HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cancellationToken);
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                throw new IOException("The server closed the connection during the handshake.");
            }

            end += n;
            var headerEnd = buffer.AsSpan(0, end).IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0)
            {
                if (end == buffer.Length)
                {
                    throw new IOException("Handshake response too long.");
                }

                continue;
            }

            var head = Encoding.ASCII.GetString(buffer, 0, headerEnd);
            if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
            {
                throw new IOException($"Upgrade refused: {head.Split('\r')[0]}");
            }

#pragma warning disable CA5350 // RFC 6455 §4.2.2 prescribes SHA-1 for the accept key.
            var expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
            if (!head.Contains(expected, StringComparison.Ordinal))
            {
                throw new IOException("Wrong Sec-WebSocket-Accept.");
            }

            start = headerEnd + 4;
            break;
        }

        if (protocol == WireProtocol.SignalR)
        {
            SendText("{\"protocol\":\"json\",\"version\":1}\u001e");
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Frames that arrived with the handshake response.
            Process();
            while (!Closed)
            {
                if (Volatile.Read(ref resume) is { } gate)
                {
                    await gate.Task.WaitAsync(cancellationToken);
                }

                if (end == buffer.Length)
                {
                    Compact();
                }

                var n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    break;
                }

                end += n;
                Receives++;
                Process();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            if (!Closed)
            {
                ClosedAt = Stopwatch.GetTimestamp();
                Closed = true;
            }
        }
    }

    private void Compact()
    {
        var pending = end - start;
        if (start > 0)
        {
            Buffer.BlockCopy(buffer, start, buffer, 0, pending);
        }
        else
        {
            Array.Resize(ref buffer, buffer.Length * 2);
        }

        start = 0;
        end = pending;
    }

    /// <summary>Parses every complete frame in the buffer (§5.2); server frames are never masked.</summary>
    private void Process()
    {
        while (true)
        {
            var available = end - start;
            if (available < 2)
            {
                break;
            }

            var span = buffer.AsSpan(start, available);
            var fin = (span[0] & 0x80) != 0;
            var opcode = span[0] & 0x0f;
            long length = span[1] & 0x7f;
            var header = 2;
            if (length == 126)
            {
                if (available < 4)
                {
                    break;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(span[2..]);
                header = 4;
            }
            else if (length == 127)
            {
                if (available < 10)
                {
                    break;
                }

                length = (long)BinaryPrimitives.ReadUInt64BigEndian(span[2..]);
                header = 10;
            }

            if (available < header + length)
            {
                if (header + length > buffer.Length)
                {
                    var larger = new byte[Math.Max(buffer.Length * 2, (int)(header + length) * 2)];
                    Buffer.BlockCopy(buffer, start, larger, 0, available);
                    buffer = larger;
                    start = 0;
                    end = available;
                }

                break;
            }

            var payload = span.Slice(header, (int)length);
            start += header + (int)length;
            Frames++;
            switch (opcode)
            {
                case 0x0 or 0x1 or 0x2:
                    OnDataFrame(payload, fin, opcode == 0x0);
                    break;
                case 0x8:
                    OnClose(payload);
                    return;
                case 0x9:
                    PingsAnswered++;
                    Send(controlFrame.AsSpan(0, WriteFrame(controlFrame, 0xA, payload)));
                    break;
            }
        }

        if (start == end)
        {
            start = end = 0;
            // A big welcome frame (a full room's names) grew the buffer: give it back, 10,000 clients hold one each.
            if (buffer.Length > bufferSize)
            {
                buffer = new byte[bufferSize];
            }
        }
    }

    private void OnDataFrame(ReadOnlySpan<byte> payload, bool fin, bool continuation)
    {
        if (!continuation && fin && fragmentsLength == 0)
        {
            OnMessage(payload);
            return;
        }

        // A fragmented message (§5.4): SignalR may write one message in several frames.
        if (fragments is null || fragments.Length < fragmentsLength + payload.Length)
        {
            Array.Resize(ref fragments, Math.Max(4096, (fragmentsLength + payload.Length) * 2));
        }

        payload.CopyTo(fragments.AsSpan(fragmentsLength));
        fragmentsLength += payload.Length;
        if (fin)
        {
            var length = fragmentsLength;
            fragmentsLength = 0;
            OnMessage(fragments.AsSpan(0, length));
        }
    }

    private void OnMessage(ReadOnlySpan<byte> message)
    {
        if (protocol == WireProtocol.Chat)
        {
            OnChatEvent(message);
            return;
        }

        // SignalR's records end with 0x1e and may span messages: treat the text as a stream of records.
        if (recordsLength > 0)
        {
            if (records.Length < recordsLength + message.Length)
            {
                Array.Resize(ref records, (recordsLength + message.Length) * 2);
            }

            message.CopyTo(records.AsSpan(recordsLength));
            recordsLength += message.Length;
            var consumed = SplitRecords(records.AsSpan(0, recordsLength));
            records.AsSpan(consumed, recordsLength - consumed).CopyTo(records);
            recordsLength -= consumed;
            return;
        }

        var used = SplitRecords(message);
        var rest = message[used..];
        if (!rest.IsEmpty)
        {
            if (records.Length < rest.Length)
            {
                records = new byte[Math.Max(4096, rest.Length * 2)];
            }

            rest.CopyTo(records);
            recordsLength = rest.Length;
        }
    }

    private int SplitRecords(ReadOnlySpan<byte> text)
    {
        var consumed = 0;
        while (true)
        {
            var separator = text[consumed..].IndexOf(RecordSeparator);
            if (separator < 0)
            {
                return consumed;
            }

            OnSignalRRecord(text.Slice(consumed, separator));
            consumed += separator + 1;
        }
    }

    private void OnChatEvent(ReadOnlySpan<byte> json)
    {
        if (!json.StartsWith(ChatTypePrefix) || json.Length < 16)
        {
            return;
        }

        // The serialiser writes "type" first: chat_message, user_joined, user_left or error.
        switch (json[ChatTypePrefix.Length])
        {
            case (byte)'c':
                OnChatMessage(json);
                break;
            case (byte)'u' when json[ChatTypePrefix.Length + 5] == (byte)'j':
                Joins++;
                if (Present is { } present)
                {
                    CountJoin(present, json);
                }

                break;
            case (byte)'u':
                Lefts++;
                if (UserLeft is { } left)
                {
                    left(this, ReadString(json, UserNameKey));
                }

                if (Owed is { } owed)
                {
                    CountOwed(owed, json);
                }

                break;
            case (byte)'e':
                Errors++;
                break;
        }
    }

    private void CountJoin(HashSet<string> present, ReadOnlySpan<byte> json)
    {
        var users = json.IndexOf(UsersKey);
        if (users < 0)
        {
            if (!present.Add(ReadString(json, UserNameKey)))
            {
                JoinsOfPresent++;
            }

            return;
        }

        // The welcome: "users":["a","b",...], plain names (the bench's are letters and digits).
        var list = json[(users + UsersKey.Length)..];
        list = list[..Math.Max(0, list.IndexOf((byte)']'))];
        foreach (var range in list.Split((byte)','))
        {
            var name = list[range].Trim((byte)'"');
            if (!name.IsEmpty)
            {
                present.Add(Encoding.UTF8.GetString(name));
            }
        }
    }

    private void CountOwed(bool[] owed, ReadOnlySpan<byte> json)
    {
        var at = json.IndexOf(UserNameKey);
        var name = at < 0 ? default : json[(at + UserNameKey.Length)..];
        var end = name.IndexOf((byte)'"');
        name = end < 0 ? default : name[..end];
        var x = name.LastIndexOf((byte)'x');
        if (x >= 0 && Utf8Parser.TryParse(name[(x + 1)..], out int index, out _) && (uint)index < (uint)owed.Length && owed[index])
        {
            owed[index] = false;
            OwedLefts++;
        }
        else
        {
            UnexpectedLefts++;
        }
    }

    private void OnSignalRRecord(ReadOnlySpan<byte> json)
    {
        var target = json.IndexOf(TargetKey);
        if (target < 0)
        {
            if (json.StartsWith("{\"type\":7"u8))
            {
                CloseReason = Encoding.UTF8.GetString(json);
            }

            return;
        }

        var name = json[(target + TargetKey.Length)..];
        if (name.StartsWith("ReceiveMessage"u8))
        {
            OnChatMessage(json);
        }
        else if (name.StartsWith("UserJoined"u8))
        {
            Joins++;
        }
        else if (name.StartsWith("UserLeft"u8))
        {
            Lefts++;
            if (UserLeft is { } left)
            {
                left(this, ReadString(json, ArgumentsKey));
            }

            if (Owed is { } owed)
            {
                var user = ReadString(json, ArgumentsKey);
                var x = user.LastIndexOf('x');
                if (x >= 0 && int.TryParse(user.AsSpan(x + 1), System.Globalization.CultureInfo.InvariantCulture, out var index)
                    && (uint)index < (uint)owed.Length && owed[index])
                {
                    owed[index] = false;
                    OwedLefts++;
                }
                else
                {
                    UnexpectedLefts++;
                }
            }
        }
        else if (name.StartsWith("Error"u8))
        {
            Errors++;
        }
    }

    private void OnChatMessage(ReadOnlySpan<byte> json)
    {
        // A newcomer's history (the serialiser writes the flag last): earlier messages, not deliveries of this run.
        if (json.EndsWith(HistoryFlag))
        {
            return;
        }

        var marker = json.IndexOf(MessageMarker);
        if (marker < 0)
        {
            return;
        }

        var text = json[(marker + 2)..];
        if (!Utf8Parser.TryParse(text, out int sender, out var n) || text[n] != ':')
        {
            return;
        }

        text = text[(n + 1)..];
        if (!Utf8Parser.TryParse(text, out long sequence, out n) || text[n] != ':')
        {
            return;
        }

        if (!Utf8Parser.TryParse(text[(n + 1)..], out long sentAt, out _))
        {
            return;
        }

        // Chat's "id" follows the message text: one order per room, the same id for a message at every receiver.
        if (protocol == WireProtocol.Chat && text.IndexOf(IdKey) is var idAt and >= 0
            && Utf8Parser.TryParse(text[(idAt + IdKey.Length)..], out long id, out _))
        {
            IdsSeen++;
            if (id <= LastId)
            {
                IdsNotIncreasing++;
            }

            LastId = id;
            if (ids is not null && !ids.Agrees(sender, sequence, id))
            {
                IdMismatches++;
            }
        }

        Deliveries++;
        if ((uint)sender < (uint)LastSequence.Length)
        {
            var last = LastSequence[sender];
            if (sequence > last)
            {
                LastSequence[sender] = sequence;
            }
            else if (sequence == last)
            {
                Duplicates++;
            }
            else
            {
                OutOfOrder++;
            }
        }

        if (sentAt >= window.Start && sentAt < window.End)
        {
            Latency.Record(Stopwatch.GetTimestamp() - sentAt);
        }
    }

    private void OnClose(ReadOnlySpan<byte> payload)
    {
        if (payload.Length >= 2)
        {
            CloseCode = BinaryPrimitives.ReadUInt16BigEndian(payload);
            CloseReason = Encoding.UTF8.GetString(payload[2..]);
        }

        ClosedAt = Stopwatch.GetTimestamp();
        Closed = true;
        Send(controlFrame.AsSpan(0, WriteFrame(controlFrame, 0x8, payload[..Math.Min(payload.Length, 125)])));
    }

    private static string ReadString(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key)
    {
        var at = json.IndexOf(key);
        if (at < 0)
        {
            return string.Empty;
        }

        var value = json[(at + key.Length)..];
        var close = value.IndexOf((byte)'"');
        return close < 0 ? string.Empty : Encoding.UTF8.GetString(value[..close]);
    }
}

/// <summary>The measurement window, in <see cref="Stopwatch"/> ticks of the send time.</summary>
internal sealed class RunWindow
{
    public long Start = long.MaxValue;
    public long End = long.MaxValue;
}
