using Chat.Application.Abstractions;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Realtime;
using StackExchange.Redis;

namespace Chat.Infrastructure.Redis;

/// <summary>
/// The local fan-out, plus what other servers must hear of that goes through no script: that someone is typing.
/// Messages reach other servers through <see cref="RedisMessageBus"/>, arrivals and departures through
/// <see cref="RedisPresence"/>. Typing is fire-and-forget: it is news for a few seconds, and losing it while Redis is
/// away costs nothing.
/// </summary>
public sealed class RedisBroadcaster(ChatBroadcaster local, IConnectionMultiplexer redis, Replica replica, TimeProvider clock)
    : IBroadcaster
{
    public async ValueTask PublishAsync(ChatRoom room, ChatEvent chatEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        await local.PublishAsync(room, chatEvent, cancellationToken);
        if (chatEvent is UserTyping typing)
        {
            await redis.GetSubscriber().PublishAsync(
                RedisKeys.Channel(room.Id),
                $"Y {replica.Id} {clock.GetUtcNow().ToUnixTimeMilliseconds()} {typing.User.Name.Value}",
                CommandFlags.FireAndForget);
        }
    }

    public ValueTask WelcomeAsync(UserJoined joined, RoomWelcome welcome, CancellationToken cancellationToken) =>
        local.WelcomeAsync(joined, welcome, cancellationToken);

    public void NotifySender(ConnectionId connection, string reason) => local.NotifySender(connection, reason);

    public void EndTakenOverSession(ConnectionId connection) => local.EndTakenOverSession(connection);
}
