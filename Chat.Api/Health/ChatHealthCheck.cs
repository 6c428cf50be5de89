using System.Diagnostics;
using Chat.Application.Abstractions;
using Chat.Infrastructure.Telemetry;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat.Api.Health;

/// <summary>
/// The chat's own health: serving, with the system statistics the original's <c>/health</c> reported. Degraded while
/// the server holds senders back because it is behind, and for a while after, so that a probe every few seconds sees
/// a server that keeps falling behind. Paced senders are reported but do not degrade it: that is one client's rate.
/// </summary>
internal sealed class ChatHealthCheck(IConnectionRegistry registry, ChatTelemetry telemetry, TimeProvider clock) : IHealthCheck
{
    private static readonly TimeSpan BehindWindow = TimeSpan.FromSeconds(10);

    private readonly DateTimeOffset startedAt = clock.GetUtcNow();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var process = Process.GetCurrentProcess();
        var rooms = registry.Rooms;
        var heldBack = telemetry.SendersHeldBack;
        var data = new Dictionary<string, object>
        {
            ["uptime_seconds"] = Math.Round((clock.GetUtcNow() - startedAt).TotalSeconds, 3),
            ["active_connections"] = registry.UserCount,
            ["active_rooms"] = rooms.Count,
            ["total_messages"] = rooms.Sum(r => r.MessageCount),
            ["senders_held_back"] = heldBack,
            ["senders_paced"] = telemetry.SendersPaced,
            ["memory_working_set_bytes"] = process.WorkingSet64,
            ["memory_gc_heap_bytes"] = GC.GetTotalMemory(forceFullCollection: false),
        };
        if (telemetry.SinceSendersHeldBack is { } since && since < BehindWindow)
        {
            return Task.FromResult(HealthCheckResult.Degraded(
                heldBack > 0
                    ? $"Behind: {heldBack} senders are held back until their queues drain; their messages are delayed, not lost."
                    : $"Behind: senders were held back within the last {BehindWindow.TotalSeconds:0} s; their messages were delayed, not lost.",
                data: data));
        }

        return Task.FromResult(HealthCheckResult.Healthy("Chat is serving.", data));
    }
}
