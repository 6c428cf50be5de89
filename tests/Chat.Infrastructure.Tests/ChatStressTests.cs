using Chat.Application.Abstractions;
using Chat.Application.Messages.SendMessage;
using Chat.Application.Rooms.JoinRoom;
using Chat.Application.Rooms.LeaveRoom;
using Chat.Domain.Users;
using Chat.Infrastructure.Realtime;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Infrastructure.Tests;

/// <summary>The real use cases, registry and fan-out driven from many tasks at once, then checked for leaks.</summary>
public sealed class ChatStressTests
{
    [Fact]
    public async Task Concurrent_joins_sends_and_leaves_keep_every_invariant()
    {
        await using var host = await InfrastructureHost.StartAsync();
        var services = host.Services;
        var sender = services.GetRequiredService<ISender>();
        var registry = services.GetRequiredService<IConnectionRegistry>();
        var broadcaster = services.GetRequiredService<ChatBroadcaster>();
        string?[] rooms = [null, "side-a", "side-b"];
        var nextId = 0L;
        var joins = 0;
        var conflicts = 0;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 400; i++)
            {
                var id = new ConnectionId(Interlocked.Increment(ref nextId));
                var outbox = new ClientOutbox(id, 100_000);
                broadcaster.Attach(outbox);
                // A small pool of names makes concurrent joins collide on purpose.
                var joined = await sender.Send(new JoinRoomCommand(id, $"user{random.Next(12)}", rooms[random.Next(rooms.Length)]));
                if (joined.IsOk)
                {
                    Interlocked.Increment(ref joins);
                    for (var m = 0; m < random.Next(4); m++)
                    {
                        Assert.True((await sender.Send(new SendMessageCommand(id, $"w{worker} m{m}"))).IsOk);
                    }

                    Assert.True((await sender.Send(new LeaveRoomCommand(id))).IsOk);
                }
                else
                {
                    Interlocked.Increment(ref conflicts);
                }

                broadcaster.Detach(id);
                Assert.False(outbox.HasOverflowed);
                while (outbox.Reader.TryRead(out _))
                {
                }
            }
        }, TestContext.Current.CancellationToken)));

        Assert.Equal(8 * 400, joins + conflicts);
        Assert.True(joins > 0 && conflicts > 0, $"joins {joins}, conflicts {conflicts}: the test should exercise both.");
        Assert.Equal(0, registry.UserCount);
        var remaining = Assert.Single(registry.Rooms);
        Assert.Equal("general", remaining.Id.Value);
        Assert.Empty(remaining.Members);
    }
}
