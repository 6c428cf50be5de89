using Chat.Application.Abstractions;
using BenchmarkDotNet.Attributes;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Protocol;

namespace Chat.Benchmarks;

/// <summary>Building an outgoing event's bytes: done once per event, whatever the room's size.</summary>
[MemoryDiagnoser]
public class SerializerBenchmarks
{
    private ChatMessage message = null!;
    private UserJoined joinedSmallRoom = null!;
    private UserJoined joinedLargeRoom = null!;

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        var room = RoomId.Create("general");
        message = new ChatMessage(room, UserName.Create("alice", 20), "Hello, everyone! How is the benchmark going today?", now);
        joinedSmallRoom = Joined(room, 10, now);
        joinedLargeRoom = Joined(room, 1000, now);
    }

    [Benchmark(Baseline = true)]
    public byte[] ChatMessage() => ChatEventSerializer.Serialize(message);

    [Benchmark]
    public byte[] UserJoined() => ChatEventSerializer.Serialize(joinedSmallRoom);

    [Benchmark]
    public byte[] Welcome_10_present() => ChatEventSerializer.SerializeWelcome(joinedSmallRoom, Welcome);

    [Benchmark]
    public byte[] Welcome_1000_present() => ChatEventSerializer.SerializeWelcome(joinedLargeRoom, Welcome);

    private static readonly RoomWelcome Welcome = new("3q2-7w", "Zm9vYmFyYmF6cXV4cXV1eA", []);

    private static UserJoined Joined(RoomId room, int present, DateTimeOffset now)
    {
        var names = new UserName[present];
        for (var i = 0; i < present; i++)
        {
            names[i] = UserName.Create($"user{i}", 20);
        }

        var user = new User(new ConnectionId(present), names[^1], now);
        return new UserJoined(room, user, names, now);
    }
}
