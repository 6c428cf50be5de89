using System.Diagnostics;
using Chat.Application.Abstractions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat.Api.Health;

/// <summary>The chat's own health: serving, with the system statistics the original's <c>/health</c> reported.</summary>
internal sealed class ChatHealthCheck(IConnectionRegistry registry, TimeProvider clock) : IHealthCheck
{
    private readonly DateTimeOffset startedAt = clock.GetUtcNow();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var process = Process.GetCurrentProcess();
        var rooms = registry.Rooms;
        var data = new Dictionary<string, object>
        {
            ["uptime_seconds"] = Math.Round((clock.GetUtcNow() - startedAt).TotalSeconds, 3),
            ["active_connections"] = registry.UserCount,
            ["active_rooms"] = rooms.Count,
            ["total_messages"] = rooms.Sum(r => r.MessageCount),
            ["memory_working_set_bytes"] = process.WorkingSet64,
            ["memory_gc_heap_bytes"] = GC.GetTotalMemory(forceFullCollection: false),
        };
        return Task.FromResult(HealthCheckResult.Healthy("Chat is serving.", data));
    }
}
