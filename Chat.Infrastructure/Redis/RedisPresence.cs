using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat.Infrastructure.Redis;

/// <summary>
/// Who is in each room across every server, kept in Redis: one entry per name per room, claimed and released by
/// scripts, so two people racing for a name on two servers cannot both win. Each entry names its server; a server
/// renews a key that says it is alive every third of <see cref="PresenceOptions.Timeout"/>, and every server sweeps
/// the rooms as often for entries whose server's key has expired: those users are announced as left (once, by
/// whichever sweep removes them) and their names are free again. A release Redis did not take is retried.
/// </summary>
public sealed partial class RedisPresence(
    IConnectionMultiplexer redis,
    RoomChannels channels,
    Replica replica,
    IOptions<PresenceOptions> options,
    TimeProvider clock,
    ILogger<RedisPresence> logger) : BackgroundService, IRoomPresence
{
    private readonly TimeSpan timeout = options.Value.Timeout;
    private readonly ConcurrentQueue<(RoomId Room, User User)> unreleased = new();

    public async ValueTask<PresenceClaim> ClaimAsync(RoomId room, User user, string? resumeToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(user);
        try
        {
            // Subscribed first: every event of the room after the claim reaches this server.
            await channels.EnsureSubscribedAsync(room);
            var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
                RedisScripts.Claim,
                [RedisKeys.Presence(room), RedisKeys.Arrivals(room), RedisKeys.Channel(room).ToString(), RedisKeys.Rooms,
                    RedisKeys.Joins(room), RedisKeys.Replica(replica.Id)],
                [NameKey(user.Name), Entry(user), resumeToken is null ? string.Empty : Hash(resumeToken), room.Value, Now(),
                    RedisKeys.ReplicaPrefix, user.Name.Value, replica.Id, (long)timeout.TotalMilliseconds]))!;
            var outcome = (string)result[0]!;
            if (outcome == "taken")
            {
                return new PresenceClaim(PresenceOutcome.Taken);
            }

            var present = new List<UserName>(result.Length - 1);
            for (var i = 1; i < result.Length; i++)
            {
                if (UserName.TryCreate((string)result[i]!, int.MaxValue, out var name, out _))
                {
                    present.Add(name);
                }
            }

            return new PresenceClaim(outcome == "claimed" ? PresenceOutcome.Claimed : PresenceOutcome.TakenOver, present);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogUnavailable(logger, e, room.Value);
            return new PresenceClaim(PresenceOutcome.Unavailable);
        }
    }

    public async ValueTask ReleaseAsync(RoomId room, User user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(user);
        try
        {
            await ReleaseNowAsync(room, user);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Its name would stay taken while this server lives: tried again at each renewal until Redis takes it.
            LogUnavailable(logger, e, room.Value);
            unreleased.Enqueue((room, user));
        }
    }

    public async ValueTask<int> CountAsync(RoomId room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return (int)await redis.GetDatabase().HashLengthAsync(RedisKeys.Presence(room));
    }

    public async ValueTask<IReadOnlyList<RoomOccupancy>> ListOccupiedAsync(CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var rooms = await database.SetMembersAsync(RedisKeys.Rooms);
        var counts = new Task<long>[rooms.Length];
        for (var i = 0; i < rooms.Length; i++)
        {
            counts[i] = database.HashLengthAsync(RedisKeys.Presence(RoomId.Create(rooms[i]!)));
        }

        var occupied = new List<RoomOccupancy>(rooms.Length);
        for (var i = 0; i < rooms.Length; i++)
        {
            if (await counts[i] is var count and > 0)
            {
                occupied.Add(new RoomOccupancy(RoomId.Create(rooms[i]!), (int)count));
            }
        }

        return occupied;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(timeout / 3, clock);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RenewAsync();
                await SweepAsync();
                await channels.ReleaseIdleAsync();
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogRenewalFailed(logger, e);
            }

            try
            {
                await timer.WaitForNextTickAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>A server that stops cleanly lets the others know at once rather than after the timeout.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await redis.GetDatabase().KeyDeleteAsync(RedisKeys.Replica(replica.Id));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogRenewalFailed(logger, e);
        }
    }

    private async Task RenewAsync()
    {
        await redis.GetDatabase().StringSetAsync(RedisKeys.Replica(replica.Id), "1", timeout);
        for (var pending = unreleased.Count; pending > 0 && unreleased.TryDequeue(out var release); pending--)
        {
            try
            {
                await ReleaseNowAsync(release.Room, release.User);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                unreleased.Enqueue(release);
                throw;
            }
        }
    }

    private async Task SweepAsync()
    {
        var database = redis.GetDatabase();
        foreach (var value in await database.SetMembersAsync(RedisKeys.Rooms))
        {
            if (!RoomId.TryCreate(value, out var room))
            {
                continue;
            }

            var gone = (long)await database.ScriptEvaluateAsync(
                RedisScripts.Sweep,
                [RedisKeys.Presence(room), RedisKeys.Arrivals(room), RedisKeys.Channel(room).ToString(), RedisKeys.Rooms],
                [room.Value, RedisKeys.ReplicaPrefix, Now()]);
            if (gone > 0)
            {
                LogSwept(logger, gone, room.Value);
            }
        }
    }

    private Task<RedisResult> ReleaseNowAsync(RoomId room, User user) => redis.GetDatabase().ScriptEvaluateAsync(
        RedisScripts.Release,
        [RedisKeys.Presence(room), RedisKeys.Arrivals(room), RedisKeys.Channel(room).ToString()],
        [NameKey(user.Name), $"{replica.Id}|{user.Connection}", Now(), user.Name.Value, replica.Id]);

    private long Now() => clock.GetUtcNow().ToUnixTimeMilliseconds();

    private string Entry(User user) => $"{replica.Id}|{user.Connection}|{(user.SessionToken is { } token ? Hash(token) : string.Empty)}|{user.Name.Value}";

    /// <summary>Names are unique case-insensitively, as in a room (<see cref="UserName"/> compares them so).</summary>
    private static string NameKey(UserName name) => name.Value.ToUpperInvariant();

    /// <summary>Redis keeps a hash of the resume token, never the token.</summary>
    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence in Redis unavailable for room {Room}")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, string room);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew this server's presence in Redis")]
    private static partial void LogRenewalFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} users of servers that stopped answering left room {Room}")]
    private static partial void LogSwept(ILogger logger, long count, string room);
}
