using System.Threading.Channels;
using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Infrastructure.History;

/// <summary>
/// The one writer of every room's history in this process. Senders queue their messages; the writer takes whatever
/// is queued, numbers each room's messages in queue order, stores them in one transaction (group commit) and hands
/// them to the fan-out in the same order, so ids increase in the order members receive them. Senders do not wait for
/// the commit (a sender's next message is read meanwhile); a batch that cannot be stored is seen by nobody, and each
/// of its senders gets an error. With
/// <see cref="HistoryDurability.Durable"/> the store comes first: nothing anyone saw can be lost by a crash. With
/// <see cref="HistoryDurability.WriteBehind"/> the fan-out comes first. Stopping the host stores what is queued.
/// </summary>
public sealed partial class MessageJournal(
    IMessageStore store,
    IBroadcaster broadcaster,
    IOptions<HistoryOptions> options,
    TimeProvider clock,
    ILogger<MessageJournal> logger) : IMessagePublisher, IHostedService
{
    // A batch this large is one transaction of well under a megabyte; more would only delay its first recipients.
    private const int MaxBatch = 1024;

    private readonly Channel<Entry> queue = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions
    {
        SingleReader = true,
        AllowSynchronousContinuations = false,
    });

    private const string NotStored = "A message could not be saved, so it was not sent. Try again.";

    private readonly bool durable = options.Value.Durability == HistoryDurability.Durable;

    // The last id given in each room; the writer alone reads and writes it. Loaded from the store on first use.
    private readonly Dictionary<RoomId, long> lastIds = [];
    private Task? writer;

    public ValueTask<bool> PublishAsync(
        ChatRoom room, ChatMessage message, ConnectionId sender, CancellationToken cancellationToken) =>
        ValueTask.FromResult(queue.Writer.TryWrite(new Entry(room, message, sender, done: null)));

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (queue.Writer.TryWrite(new Entry(null, null, default, done)))
        {
            await done.Task.WaitAsync(cancellationToken);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        writer = Task.Run(WriteLoopAsync, CancellationToken.None);
    }

    /// <summary>Takes no more messages and stores (and delivers) those already queued.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Writer.TryComplete();
        if (writer is not null)
        {
            await writer.WaitAsync(cancellationToken);
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Entry>(MaxBatch);
        var rows = new List<HistoryMessage>(MaxBatch);
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            rows.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }

            try
            {
                await NumberAsync(batch, rows);
                if (durable)
                {
                    await StoreAsync(rows);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Nothing of this batch was stored or seen: its ids are free again, and its senders are told.
                LogStoreFailed(logger, e, batch.Count);
                lastIds.Clear();
                foreach (var entry in batch)
                {
                    if (entry.Message is not null)
                    {
                        broadcaster.NotifySender(entry.Sender, NotStored);
                    }
                }

                Complete(batch);
                continue;
            }

            foreach (var entry in batch)
            {
                if (entry.Message is { } message)
                {
                    await broadcaster.PublishAsync(entry.Room!, message, CancellationToken.None);
                }
            }

            if (!durable)
            {
                try
                {
                    await StoreAsync(rows);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Already delivered: the senders' messages stand, but history misses them.
                    LogWriteBehindFailed(logger, e, rows.Count);
                }
            }

            Complete(batch);
        }
    }

    private async Task NumberAsync(List<Entry> batch, List<HistoryMessage> rows)
    {
        foreach (var entry in batch)
        {
            if (entry.Message is not { } message)
            {
                continue;
            }

            if (!lastIds.TryGetValue(message.Room, out var last))
            {
                last = (await store.OpenRoomAsync(message.Room, clock.GetUtcNow(), CancellationToken.None)).LastId;
            }

            lastIds[message.Room] = ++last;
            entry.Message = message with { Id = last };
            rows.Add(new HistoryMessage(message.Room, last, message.Sender.Value, message.Text, message.OccurredAt));
        }
    }

    private Task StoreAsync(List<HistoryMessage> rows) =>
        rows.Count == 0 ? Task.CompletedTask : store.AppendAsync(rows, CancellationToken.None);

    /// <summary>Releases the flushes waiting on this batch.</summary>
    private static void Complete(List<Entry> batch)
    {
        foreach (var entry in batch)
        {
            entry.Done?.TrySetResult();
        }
    }

    /// <summary>A message on its way, or (with no message) a flush that completes once everything before it is through.</summary>
    private sealed class Entry(ChatRoom? room, ChatMessage? message, ConnectionId sender, TaskCompletionSource? done)
    {
        public ChatRoom? Room { get; } = room;

        public ChatMessage? Message { get; set; } = message;

        public ConnectionId Sender { get; } = sender;

        public TaskCompletionSource? Done { get; } = done;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "History store failed; {Count} messages were not sent")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "History store failed; {Count} delivered messages are missing from history")]
    private static partial void LogWriteBehindFailed(ILogger logger, Exception exception, int count);
}
