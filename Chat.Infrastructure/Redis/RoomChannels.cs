using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Protocol;
using Chat.Infrastructure.Realtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat.Infrastructure.Redis;

/// <summary>
/// This server's subscriptions: one per room it has members in, not one per connection. What arrives is handed to the
/// local fan-out in the order Redis published it, so every server delivers the same messages, in the same order, with
/// the same ids. A message that did not arrive (the subscription dropped meanwhile) is read back from the room's recent
/// stream before anything after it is delivered; a room whose stream Redis lost ends its members' sessions so that
/// they reconnect into the new one.
/// </summary>
public sealed partial class RoomChannels : IDisposable
{
    private readonly ConcurrentDictionary<RoomId, RoomChannel> channels = new();
    private readonly IConnectionMultiplexer redis;
    private readonly IConnectionRegistry registry;
    private readonly ChatBroadcaster broadcaster;
    private readonly Replica replica;
    private readonly TimeProvider clock;
    private readonly ILogger<RoomChannels> logger;
    private readonly RoomId defaultRoom;

    public RoomChannels(
        IConnectionMultiplexer redis,
        IConnectionRegistry registry,
        ChatBroadcaster broadcaster,
        Replica replica,
        TimeProvider clock,
        IOptions<ChatOptions> options,
        ILogger<RoomChannels> logger)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        (this.redis, this.registry, this.broadcaster, this.replica, this.clock, this.logger) =
            (redis, registry, broadcaster, replica, clock, logger);
        defaultRoom = RoomId.Create(options.Value.DefaultRoom);
        redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>How many rooms this server is subscribed to.</summary>
    public int Count => channels.Count;

    /// <summary>The highest id this server delivered in the room (0 if none): ids go on above it if Redis lost the room.</summary>
    public long LastDelivered(RoomId room) => channels.TryGetValue(room, out var channel) ? channel.LastId : 0;

    /// <summary>Subscribes to the room's channel unless this server already is; returns once Redis confirmed it.</summary>
    public async Task EnsureSubscribedAsync(RoomId room)
    {
        while (true)
        {
            var channel = channels.GetOrAdd(room, static id => new RoomChannel(id));
            await channel.Gate.WaitAsync();
            try
            {
                if (channel.Removed)
                {
                    continue;
                }

                if (channel.Queue is null)
                {
                    channel.Queue = await redis.GetSubscriber().SubscribeAsync(RedisKeys.Channel(room));
                    channel.Queue.OnMessage(message => OnMessageAsync(channel, message.Message));
                }

                return;
            }
            finally
            {
                channel.Gate.Release();
            }
        }
    }

    /// <summary>Unsubscribes from rooms nobody here is in any more.</summary>
    public async Task ReleaseIdleAsync()
    {
        foreach (var channel in channels.Values)
        {
            if (IsOccupied(channel.Room))
            {
                continue;
            }

            await channel.Gate.WaitAsync();
            try
            {
                // A join here takes the room first, then this gate: seen empty under the gate, it stays unsubscribed
                // only until that join subscribes again.
                if (channel.Removed || IsOccupied(channel.Room))
                {
                    continue;
                }

                channel.Removed = true;
                channels.TryRemove(KeyValuePair.Create(channel.Room, channel));
                if (channel.Queue is { } queue)
                {
                    await queue.UnsubscribeAsync();
                }
            }
            finally
            {
                channel.Gate.Release();
            }
        }
    }

    public void Dispose() => redis.ConnectionRestored -= OnConnectionRestored;

    private bool IsOccupied(RoomId room) => registry.TryGetRoom(room, out var found) && found.MemberCount > 0;

    private async Task OnMessageAsync(RoomChannel channel, RedisValue payload)
    {
        if (channel.Removed)
        {
            // An unsubscribe Redis did not take: a newer subscription of the room delivers instead.
            return;
        }

        try
        {
            var data = (byte[])payload!;
            switch ((char)data[0])
            {
                case 'M':
                    await OnMessagesAsync(channel, data);
                    break;
                case 'J' or 'L' or 'Y':
                    await OnRoomEventAsync(channel.Room, Encoding.UTF8.GetString(data));
                    break;
                case 'T':
                    OnTakeover(Encoding.UTF8.GetString(data));
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogDispatchFailed(logger, e, channel.Room.Value);
        }
    }

    private async Task OnMessagesAsync(RoomChannel channel, byte[] data)
    {
        var header = Encoding.ASCII.GetString(data, 0, Array.IndexOf(data, (byte)'\n')).Split(' ');
        var (epoch, first, count) = (header[1], long.Parse(header[2], CultureInfo.InvariantCulture), int.Parse(header[3], CultureInfo.InvariantCulture));
        var frames = new List<(byte[] Frame, long Id)>(count);
        var start = Array.IndexOf(data, (byte)'\n') + 1;
        for (var i = 0; i < count; i++)
        {
            var end = Array.IndexOf(data, (byte)'\n', start);
            end = end < 0 ? data.Length : end;
            frames.Add((data[start..end], first + i));
            start = end + 1;
        }

        await channel.Order.WaitAsync();
        try
        {
            if (channel.Epoch is not null && channel.Epoch != epoch)
            {
                Reset(channel);
            }

            if (channel.Epoch is not null && first > channel.LastId + 1)
            {
                await RepairAsync(channel, first - 1);
            }

            channel.Epoch = epoch;
            var fresh = frames.FindAll(f => f.Id > channel.LastId);
            if (fresh.Count > 0 && registry.TryGetRoom(channel.Room, out var room))
            {
                broadcaster.PublishMessageFrames(room, fresh);
            }

            channel.LastId = Math.Max(channel.LastId, first + count - 1);
        }
        finally
        {
            channel.Order.Release();
        }
    }

    /// <summary>Delivers what this server missed up to <paramref name="upTo"/>, from the room's recent stream.</summary>
    private async Task RepairAsync(RoomChannel channel, long upTo)
    {
        var entries = await redis.GetDatabase().StreamRangeAsync(
            RedisKeys.Stream(channel.Room), $"{channel.LastId + 1}-0", $"{upTo}-1");
        var frames = new List<(byte[] Frame, long Id)>(entries.Length);
        foreach (var entry in entries)
        {
            var message = RedisTimeline.ToMessage(channel.Room, entry);
            frames.Add((ChatEventSerializer.Serialize(new ChatMessage(
                message.Room, UserName.Create(message.Sender, int.MaxValue), message.Text, message.SentAt, message.Id)), message.Id));
        }

        LogRepaired(logger, channel.Room.Value, frames.Count, upTo - channel.LastId);
        if (frames.Count > 0 && registry.TryGetRoom(channel.Room, out var room))
        {
            broadcaster.PublishMessageFrames(room, frames);
        }

        channel.LastId = upTo;
    }

    /// <summary>The room's stream was begun anew: its members here reconnect and resume into the new one.</summary>
    private void Reset(RoomChannel channel)
    {
        LogStreamReset(logger, channel.Room.Value);
        channel.Epoch = null;
        channel.LastId = 0;
        if (registry.TryGetRoom(channel.Room, out var room))
        {
            broadcaster.EndSessionsForReset(room);
        }
    }

    /// <summary>An arrival (<c>J</c>), departure (<c>L</c>) or typing (<c>Y</c>) on another server.</summary>
    private async Task OnRoomEventAsync(RoomId roomId, string payload)
    {
        var parts = payload.Split(' ', 4);
        if (parts.Length < 4 || parts[1] == replica.Id || !registry.TryGetRoom(roomId, out var room)
            || !UserName.TryCreate(parts[3], int.MaxValue, out var name, out _))
        {
            // This server's own events were delivered here when they happened.
            return;
        }

        var at = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(parts[2], CultureInfo.InvariantCulture));
        switch (payload[0])
        {
            case 'J':
                broadcaster.PublishArrivalFromElsewhere(room, new UserJoined(roomId, new User(default, name, at), [], at, room.NextSequence()));
                break;
            case 'L':
                await broadcaster.PublishAsync(room, new UserLeft(roomId, name, at, room.NextSequence()), CancellationToken.None);
                break;
            default:
                await broadcaster.PublishAsync(room, new UserTyping(roomId, new User(default, name, at), at), CancellationToken.None);
                break;
        }
    }

    /// <summary>A connection here lost its session to a newer one on another server: it goes without a word.</summary>
    private void OnTakeover(string payload)
    {
        var target = payload[2..].Split('|');
        if (target.Length != 2 || target[0] != replica.Id
            || !long.TryParse(target[1], CultureInfo.InvariantCulture, out var value))
        {
            return;
        }

        var connection = new ConnectionId(value);
        if (registry.TryRemoveUser(connection, out var user) && user.Room is { } room)
        {
            room.Leave(user, clock.GetUtcNow());
            if (room.Id != defaultRoom && room.TryClose())
            {
                registry.RemoveRoom(room);
            }
        }

        broadcaster.EndTakenOverSession(connection);
    }

    /// <summary>
    /// After Redis came back: a room whose stream is gone or has a new epoch is reset; one that went on without this
    /// server gets what it missed.
    /// </summary>
    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Subscription)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            foreach (var channel in channels.Values)
            {
                try
                {
                    var meta = await redis.GetDatabase().HashGetAsync(RedisKeys.Meta(channel.Room), ["epoch", "top"]);
                    await channel.Order.WaitAsync();
                    try
                    {
                        if (meta[0].IsNull || (channel.Epoch is not null && channel.Epoch != meta[0].ToString()))
                        {
                            Reset(channel);
                        }
                        else if (channel.Epoch is not null && (long)meta[1] > channel.LastId)
                        {
                            await RepairAsync(channel, (long)meta[1]);
                        }
                    }
                    finally
                    {
                        channel.Order.Release();
                    }
                }
                catch (Exception failure) when (failure is RedisException or TimeoutException)
                {
                    LogDispatchFailed(logger, failure, channel.Room.Value);
                }
            }
        });
    }

    /// <summary>One room's subscription and where its delivery stands on this server.</summary>
    private sealed class RoomChannel(RoomId room)
    {
        public RoomId Room { get; } = room;

        /// <summary>Guards subscribing and unsubscribing.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>Guards delivery: messages and repairs one at a time, in order.</summary>
        public SemaphoreSlim Order { get; } = new(1, 1);

        public ChannelMessageQueue? Queue { get; set; }

        public bool Removed { get; set; }

        /// <summary>The epoch of what was delivered; null until the first message.</summary>
        public string? Epoch { get; set; }

        /// <summary>The last id delivered here.</summary>
        public long LastId { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not deliver an event of room {Room} from Redis")]
    private static partial void LogDispatchFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: read back {Found} of {Missed} messages this server missed")]
    private static partial void LogRepaired(ILogger logger, string room, int found, long missed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: its stream in Redis was lost and begun anew; its members here reconnect")]
    private static partial void LogStreamReset(ILogger logger, string room);
}
