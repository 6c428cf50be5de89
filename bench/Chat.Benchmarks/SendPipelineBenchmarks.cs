using BenchmarkDotNet.Attributes;
using Chat.Application.Messages.SendMessage;
using Chat.Application.Rooms.JoinRoom;
using Chat.Domain.Users;
using Chat.Infrastructure.Realtime;
using Mediator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Benchmarks;

/// <summary>
/// One message through the real pipeline (mediator, validation, handler, domain, encoding once, a queue write per
/// member), then each member's writer dequeuing it, as the room grows. Allocated bytes per message should not
/// grow with the room: nothing is allocated per recipient.
/// </summary>
[MemoryDiagnoser]
public class SendPipelineBenchmarks
{
    // Enough messages per invocation to amortise the drain loop's overhead, few enough to fit the default queue.
    private const int MessagesPerInvocation = 64;

    private ServiceProvider provider = null!;
    private string historyFolder = string.Empty;
    private ISender sender = null!;
    private ClientOutbox[] outboxes = [];
    private SendMessageCommand command = null!;

    [Params(10, 100, 1_000, 10_000)]
    public int Members { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        // The real history too: a SQLite file in a folder of its own, written by the journal (a hosted service).
        historyFolder = Directory.CreateTempSubdirectory("chat-bench-").FullName;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Chat:History:Path"] = Path.Combine(historyFolder, "chat.db"),
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        provider = services.AddApplication().AddInfrastructure(configuration).BuildServiceProvider();
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        sender = provider.GetRequiredService<ISender>();
        var broadcaster = provider.GetRequiredService<ChatBroadcaster>();
        outboxes = new ClientOutbox[Members];
        for (var i = 0; i < Members; i++)
        {
            var connection = new ConnectionId(i + 1);
            outboxes[i] = new ClientOutbox(connection, 1024);
            broadcaster.Attach(outboxes[i]);
            var joined = await sender.Send(new JoinRoomCommand(connection, $"user{i}"));
            if (!joined.IsOk)
            {
                throw new InvalidOperationException(joined.Error);
            }

            // Every join is announced to everyone already there: drain before any queue fills.
            if (i % 512 == 511)
            {
                Drain();
            }
        }

        Drain();
        command = new SendMessageCommand(new ConnectionId(1), "Hello, everyone! How is the benchmark going today?");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await provider.DisposeAsync();
        Directory.Delete(historyFolder, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = MessagesPerInvocation)]
    public async Task SendAndDequeue()
    {
        for (var i = 0; i < MessagesPerInvocation; i++)
        {
            var result = await sender.Send(command);
            if (!result.IsOk)
            {
                throw new InvalidOperationException(result.Error);
            }
        }

        Drain();
    }

    private void Drain()
    {
        foreach (var outbox in outboxes)
        {
            if (outbox is null)
            {
                break; // still joining
            }

            while (outbox.Reader.TryRead(out _))
            {
            }
        }
    }
}
