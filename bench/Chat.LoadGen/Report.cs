using System.Globalization;
using System.Text.Json;

namespace Chat.LoadGen;

/// <summary>
/// One Markdown table of every result in a JSON-lines file, with each server's ratio to the baseline, or to each of
/// several (<c>--baseline "Chat.Api,SignalR-2x-Redis"</c>).
/// </summary>
internal static class Report
{
    private static readonly (string Scenario, string[] Keys)[] Shown =
    [
        ("fanout", ["deliveries_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "lost", "duplicated", "out_of_order",
            "server_cpu_us_per_delivery", "server_cpu_s_per_100k", "server_peak_rss_mb", "generator_cores", "generator_bound",
            "frames_per_receive", "others_on_server_core", "others_on_generator_core", "join_notices", "join_notices_expected", "join_notices_of_present_users",
            "ids_seen", "ids_not_increasing", "ids_differing", "redis_commands_per_message", "redis_calls_per_message",
            "server_cpu_split", "messages_sent_total", "error"]),
        ("ramp", ["max_deliveries_per_s", "max_at_rate_per_sender", "first_failed_rate_per_sender", "p99_ms_at_max", "server_cpu_us_per_delivery_at_max", "generator_cores_at_max",
            "generator_bound", "stopped_because", "frames_per_receive", "others_on_server_core_at_max",
            "others_on_generator_core_at_max", "join_notices", "join_notices_expected", "join_notices_of_present_users", "ids_seen_at_max",
            "ids_not_increasing_at_max", "ids_differing_at_max", "redis_commands_per_message_at_max",
            "redis_calls_per_message_at_max", "server_cpu_split_at_max", "messages_sent_total", "steps", "error"]),
        ("ramp_lossless", ["max_deliveries_per_s", "max_at_rate_per_sender", "first_failed_rate_per_sender", "p99_ms_at_max", "server_cpu_us_per_delivery_at_max", "generator_cores_at_max",
            "generator_bound", "stopped_because", "frames_per_receive", "others_on_server_core_at_max",
            "others_on_generator_core_at_max", "join_notices", "join_notices_expected", "join_notices_of_present_users", "ids_seen_at_max",
            "ids_not_increasing_at_max", "ids_differing_at_max", "redis_commands_per_message_at_max",
            "redis_calls_per_message_at_max", "server_cpu_split_at_max", "messages_sent_total", "steps", "error"]),
        ("connections", ["connected", "connect_s", "connects_per_s", "all_joins_delivered", "all_joined_after_s",
            "generator_cores_while_joining", "server_cores_while_joining", "generator_bound", "kb_per_connection", "rss_kb_per_connection",
            "server_peak_rss_mb", "open_after_hold", "stats_total_users_held", "leave", "remaining", "remaining_connected",
            "remaining_closed_how", "stats_right_after_leave", "stats_right_after_leave_s", "all_departures_heard",
            "all_departures_heard_after_s", "departures_missing", "departures_unexpected", "server_cpu_s_until_heard",
            "leavers_closed_with_1000", "stats_zero_after_close", "stats_zero_after_s", "closed_with_1000"]),
        ("idle", ["connected", "room_size", "burst_per_client", "senders_paced_held", "connect_s", "all_joins_delivered", "kb_per_connection", "rss_kb_per_connection", "live_heap_kb_per_connection",
            "live_heap_largest", "server_rss_before_mb",
            "server_rss_held_mb", "stats_zero_after_close", "stats_zero_after_s"]),
        ("slow", ["p99_ms_without", "p99_ms_with_slow", "p99_ratio", "max_ms_with_slow", "others_lost", "slow_dropped",
            "slow_dropped_after_s", "slow_close", "server_peak_rss_mb", "server_rss_mb_over_time", "server_pings_answered",
            "others_on_server_core_with_slow", "error"]),
        ("resume", ["missed", "rounds", "resumed", "resume_ms_median", "resume_ms_min", "resume_ms_max", "resume_ms_all", "failures"]),
        ("store_fanout", ["messages_stored", "messages_stored_per_file", "messages_sent_total", "bytes_on_disk", "bytes_per_1000_messages"]),
        ("store_ramp", ["messages_stored", "messages_stored_per_file", "messages_sent_total", "bytes_on_disk", "bytes_per_1000_messages"]),
        ("store_ramp_lossless", ["messages_stored", "messages_stored_per_file", "messages_sent_total"]),
        ("store_resume", ["messages_stored", "bytes_on_disk", "bytes_per_1000_messages"]),
        ("redis_fanout", ["messages_sent_total", "redis_commands_whole_run", "redis_commands_per_message_whole_run", "redis_calls_whole_run"]),
        ("redis_ramp", ["messages_sent_total", "redis_commands_whole_run", "redis_commands_per_message_whole_run", "redis_calls_whole_run"]),
        ("redis_ramp_lossless", ["messages_sent_total", "redis_commands_whole_run", "redis_commands_per_message_whole_run", "redis_calls_whole_run"]),
    ];

    public static int Print(Settings settings)
    {
        var path = settings.Text("in", "results.jsonl");
        var baselines = settings.Text("baseline", "raw").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var rows = File.ReadLines(path)
            .Where(line => !string.IsNullOrWhiteSpace(line))
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .ToList();
        var servers = rows.Select(r => r.GetProperty("server").GetString()!).Distinct().ToList();
        var pairs = baselines.SelectMany(b => servers.Where(s => s != b).Select(s => (Server: s, Baseline: b))).ToList();
        Console.WriteLine($"| scenario | figure | {string.Join(" | ", servers)} | {string.Join(" | ", pairs.Select(p => $"{p.Server} / {p.Baseline}"))} |");
        Console.WriteLine($"|---|---|{string.Concat(servers.Select(_ => "---|"))}{string.Concat(pairs.Select(_ => "---|"))}");
        foreach (var (scenario, keys) in Shown)
        {
            var byServer = servers.ToDictionary(
                s => s,
                s => rows.LastOrDefault(r => r.GetProperty("scenario").GetString() == scenario && r.GetProperty("server").GetString() == s));
            if (byServer.Values.All(r => r.ValueKind == JsonValueKind.Undefined))
            {
                continue;
            }

            foreach (var key in keys)
            {
                var cells = servers.Select(s => Cell(byServer[s], key)).ToList();
                if (cells.All(c => c.Length == 0))
                {
                    continue;
                }

                var ratios = pairs.Select(p => Ratio(byServer[p.Server], byServer.GetValueOrDefault(p.Baseline), key));
                Console.WriteLine($"| {scenario} | {key} | {string.Join(" | ", cells)} | {string.Join(" | ", ratios)} |");
            }
        }

        return 0;
    }

    private static string Cell(JsonElement row, string key)
    {
        if (row.ValueKind == JsonValueKind.Undefined || !row.TryGetProperty(key, out var value))
        {
            return string.Empty;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Number => Result.Format(value.GetDouble()),
            JsonValueKind.True => "yes",
            JsonValueKind.False => "no",
            JsonValueKind.Null => "n/a",
            _ => value.GetString() ?? string.Empty,
        };
    }

    private static string Ratio(JsonElement row, JsonElement baseline, string key)
    {
        if (row.ValueKind == JsonValueKind.Undefined || baseline.ValueKind == JsonValueKind.Undefined
            || !row.TryGetProperty(key, out var value) || !baseline.TryGetProperty(key, out var reference)
            || value.ValueKind != JsonValueKind.Number || reference.ValueKind != JsonValueKind.Number
            || reference.GetDouble() == 0)
        {
            return string.Empty;
        }

        return (value.GetDouble() / reference.GetDouble()).ToString("0.00", CultureInfo.InvariantCulture) + "×";
    }
}
