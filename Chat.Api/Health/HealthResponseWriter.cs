using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat.Api.Health;

/// <summary>
/// Writes a health report as the original's <c>/health</c> answer: a status and system statistics, and when the status
/// is not healthy, the reason.
/// </summary>
internal static class HealthResponseWriter
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var clock = context.RequestServices.GetRequiredService<TimeProvider>();
        await using var json = new Utf8JsonWriter(context.Response.BodyWriter);
        json.WriteStartObject();
        json.WriteString("status", report.Status == HealthStatus.Healthy ? "healthy" : report.Status.ToString().ToLowerInvariant());
        json.WriteNumber("timestamp", clock.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
        if (report.Status != HealthStatus.Healthy)
        {
            json.WriteString("reason", string.Join(" ", report.Entries.Values
                .Where(e => e.Status != HealthStatus.Healthy && e.Description is not null)
                .Select(e => e.Description)));
        }

        foreach (var entry in report.Entries.Values)
        {
            foreach (var (key, value) in entry.Data)
            {
                json.WritePropertyName(key);
                JsonSerializer.Serialize(json, value, value.GetType(), ApiJsonContext.Default);
            }
        }

        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteString(name, entry.Status.ToString().ToLowerInvariant());
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }
}
