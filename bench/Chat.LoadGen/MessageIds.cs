namespace Chat.LoadGen;

/// <summary>
/// The id each message (sender, sequence number) came with, as the first receiver saw it: every other receiver, on
/// whichever replica, must see the same one. Lock-free: chunks of slots are allocated on first use, a slot is set once.
/// </summary>
internal sealed class MessageIds
{
    private const int ChunkBits = 16;
    private const int ChunkSize = 1 << ChunkBits;

    // 1,024 chunks of 65,536: 67M messages per sender, far more than a run sends.
    private const int MaxChunks = 1024;

    private readonly long[]?[][] chunks;

    public MessageIds(int senders)
    {
        chunks = new long[]?[Math.Max(senders, 1)][];
        for (var i = 0; i < chunks.Length; i++)
        {
            chunks[i] = new long[]?[MaxChunks];
        }
    }

    /// <summary>Records the id if it is the first seen for the message; false if another receiver saw another id.</summary>
    public bool Agrees(int sender, long sequence, long id)
    {
        if ((uint)sender >= (uint)chunks.Length || sequence < 0 || (sequence >> ChunkBits) >= MaxChunks)
        {
            return true;
        }

        var outer = chunks[sender];
        var c = (int)(sequence >> ChunkBits);
        var chunk = Volatile.Read(ref outer[c]);
        if (chunk is null)
        {
            var fresh = new long[ChunkSize];
            chunk = Interlocked.CompareExchange(ref outer[c], fresh, null) ?? fresh;
        }

        ref var slot = ref chunk[sequence & (ChunkSize - 1)];
        var seen = Volatile.Read(ref slot);
        if (seen == 0)
        {
            seen = Interlocked.CompareExchange(ref slot, id, 0);
            if (seen == 0)
            {
                return true;
            }
        }

        return seen == id;
    }
}
