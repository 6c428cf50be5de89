using System.Threading.Channels;
using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.History;
using Chat.Infrastructure.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat.Infrastructure.Redis;

/// <summary>
/// Publishes this server's messages to every server through Redis. One writer takes whatever is queued, and for each
/// room runs one script that gives the messages their ids, appends them to the room's recent stream and publishes
/// them as one payload, atomically: Redis, not a server, decides the room's order. Members (here too) receive them
/// from their server's subscription (<see cref="RoomChannels"/>). Each message is then stored once, by the server its
/// sender is on. A sender does not wait; a message that could not be published is seen by nobody, and its sender is
/// told.
/// </summary>
public sealed partial class RedisMessageBus(
    IConnectionMultiplexer redis,
    IMessageStore store,
    IBroadcaster broadcaster,
    RoomChannels channels,
    IOptions<HistoryOptions> options,
    ILogger<RedisMessageBus> logger) : IMessagePublisher, IHostedService
{
    private const int MaxBatch = 1024;
    private const string NotSent = "A message could not be sent: the chat could not reach its message bus. Try again.";

    private readonly Channel<Entry> queue = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions
    {
        SingleReader = true,
        AllowSynchronousContinuations = false,
    });

    private readonly Channel<List<HistoryMessage>> toStore = Channel.CreateUnbounded<List<HistoryMessage>>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    // The highest id this server knows of per room: where ids go on if Redis lost the room. The writer alone uses it.
    private readonly Dictionary<RoomId, long> seeds = [];
    private readonly int streamLength = Math.Max(options.Value.MaxResume, options.Value.OnJoin);
    private readonly long lifetime = (long)options.Value.MaxAge.TotalMilliseconds;
    private Task? writer;
    private Task? storer;

    public ValueTask<bool> PublishAsync(
        ChatRoom room, ChatMessage message, ConnectionId sender, CancellationToken cancellationToken) =>
        ValueTask.FromResult(queue.Writer.TryWrite(new Entry(message, sender, null)));

    /// <summary>Waits until every message queued before this call has been published (or refused).</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (queue.Writer.TryWrite(new Entry(null, default, done)))
        {
            await done.Task.WaitAsync(cancellationToken);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        writer = Task.Run(WriteLoopAsync, CancellationToken.None);
        storer = Task.Run(StoreLoopAsync, CancellationToken.None);
    }

    /// <summary>Takes no more messages; publishes and stores those already queued.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Writer.TryComplete();
        if (writer is not null)
        {
            await writer.WaitAsync(cancellationToken);
        }

        toStore.Writer.TryComplete();
        if (storer is not null)
        {
            await storer.WaitAsync(cancellationToken);
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Entry>(MaxBatch);
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }

            var rooms = new Dictionary<RoomId, List<Entry>>();
            foreach (var entry in batch)
            {
                if (entry.Message is { } message)
                {
                    if (!rooms.TryGetValue(message.Room, out var messages))
                    {
                        rooms[message.Room] = messages = [];
                    }

                    messages.Add(entry);
                }
            }

            var published = new List<Task<List<HistoryMessage>>>(rooms.Count);
            foreach (var (room, entries) in rooms)
            {
                published.Add(PublishRoomAsync(room, entries, await SeedAsync(room)));
            }

            var rows = new List<HistoryMessage>(batch.Count);
            foreach (var task in published)
            {
                var stored = await task;
                rows.AddRange(stored);
                if (stored.Count > 0)
                {
                    seeds[stored[0].Room] = Math.Max(seeds[stored[0].Room], stored[^1].Id);
                }
            }

            if (rows.Count > 0)
            {
                toStore.Writer.TryWrite(rows);
            }

            foreach (var entry in batch)
            {
                entry.Done?.TrySetResult();
            }
        }
    }

    private async ValueTask<long> SeedAsync(RoomId room)
    {
        if (!seeds.TryGetValue(room, out var seed))
        {
            try
            {
                seed = (await store.FindRoomAsync(room, CancellationToken.None))?.LastId ?? 0;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The store is down: Redis still numbers the room if it has it; 0 only matters if it lost it too.
                LogSeedFailed(logger, e, room.Value);
                return 0;
            }

            seeds[room] = seed;
        }

        // Other servers' messages reach this one through its subscription, not its store reads.
        return Math.Max(seed, channels.LastDelivered(room));
    }

    /// <summary>One script for the room's share of the batch; returns the messages as numbered, or none if it failed.</summary>
    private async Task<List<HistoryMessage>> PublishRoomAsync(RoomId room, List<Entry> entries, long seed)
    {
        var values = new RedisValue[5 + entries.Count * 4];
        (values[0], values[1], values[2], values[3], values[4]) = (RoomEpoch.New(), seed, streamLength, lifetime, entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var message = entries[i].Message!;
            var at = 5 + i * 4;
            values[at] = message.Sender.Value;
            values[at + 1] = message.Text;
            values[at + 2] = message.OccurredAt.ToUnixTimeMilliseconds();
            values[at + 3] = ChatEventSerializer.SerializeUnnumbered(message);
        }

        long first;
        try
        {
            var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
                RedisScripts.Publish, [RedisKeys.Meta(room), RedisKeys.Stream(room), RedisKeys.Channel(room).ToString()], values))!;
            first = (long)result[0];
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogPublishFailed(logger, e, entries.Count, room.Value);
            foreach (var entry in entries)
            {
                broadcaster.NotifySender(entry.Sender, NotSent);
            }

            return [];
        }

        var rows = new List<HistoryMessage>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var message = entries[i].Message!;
            rows.Add(new HistoryMessage(room, first + i, message.Sender.Value, message.Text, message.OccurredAt));
        }

        return rows;
    }

    /// <summary>Stores what was published, in batches: everyone already has it, so a failure costs history only.</summary>
    private async Task StoreLoopAsync()
    {
        var reader = toStore.Reader;
        var rows = new List<HistoryMessage>();
        while (await reader.WaitToReadAsync())
        {
            rows.Clear();
            while (rows.Count < MaxBatch * 4 && reader.TryRead(out var published))
            {
                rows.AddRange(published);
            }

            try
            {
                await store.MergeAsync(rows, CancellationToken.None);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogStoreFailed(logger, e, rows.Count);
            }
        }
    }

    /// <summary>A message on its way, or (with no message) a flush that completes once everything before it is through.</summary>
    private sealed record Entry(ChatMessage? Message, ConnectionId Sender, TaskCompletionSource? Done);

    [LoggerMessage(Level = LogLevel.Error, Message = "Redis refused or did not answer; {Count} messages of room {Room} were not sent")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, int count, string room);

    [LoggerMessage(Level = LogLevel.Error, Message = "History store failed; {Count} delivered messages are missing from history")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read room {Room}'s last id from the store")]
    private static partial void LogSeedFailed(ILogger logger, Exception exception, string room);
}
