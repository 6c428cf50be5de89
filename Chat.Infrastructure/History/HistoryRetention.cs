using Chat.Application.Abstractions;
using Chat.Application.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Infrastructure.History;

/// <summary>Deletes what retention no longer keeps (<c>Chat:History:MaxMessagesPerRoom</c>, <c>MaxAge</c>), every <c>PruneInterval</c>.</summary>
public sealed partial class HistoryRetention(
    IMessageStore store, IOptions<HistoryOptions> options, TimeProvider clock, ILogger<HistoryRetention> logger)
    : BackgroundService
{
    private readonly HistoryOptions options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.PruneInterval, clock);
        do
        {
            try
            {
                var deleted = await store.PruneAsync(options.MaxMessagesPerRoom, clock.GetUtcNow() - options.MaxAge, stoppingToken);
                if (deleted > 0)
                {
                    LogPruned(logger, deleted);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPruneFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} messages")]
    private static partial void LogPruned(ILogger logger, long count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention failed; it runs again at the next interval")]
    private static partial void LogPruneFailed(ILogger logger, Exception exception);
}
