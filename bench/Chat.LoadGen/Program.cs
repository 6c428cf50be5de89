using Chat.LoadGen;

// Chat.LoadGen fanout|ramp|connections|idle|slow|resume --url http://127.0.0.1:5000 --protocol chat|signalr --server-pid PID ...
// Chat.LoadGen fanout|ramp --urls http://127.0.0.1:5381,http://127.0.0.1:5382 --server-pid A,B,REDIS --redis 127.0.0.1:6379 ...
// Chat.LoadGen report --in results.jsonl --baseline raw
Settings settings;
try
{
    settings = Settings.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

if (settings.Scenario == "REPORT")
{
    return Report.Print(settings);
}

LoadClient.Padding = settings.Padding;
Console.WriteLine($"{settings.Scenario.ToLowerInvariant()} against {settings.Label} ({string.Join(", ", settings.Urls)}, {settings.Protocol}), " +
    $"generator on {Environment.ProcessorCount} core(s)");
// Every phase has its own bound; this one ends a run that hangs anyway.
using var watchdog = new Timer(_ =>
{
    Console.Error.WriteLine($"Run exceeded --max-seconds {settings.MaxSeconds} plus 120 s; exiting.");
    Environment.Exit(3);
}, null, TimeSpan.FromSeconds(settings.MaxSeconds + 120), Timeout.InfiniteTimeSpan);

var result = settings.Scenario switch
{
    "FANOUT" => await Scenarios.FanoutAsync(settings),
    "RAMP" => await Scenarios.RampAsync(settings),
    "CONNECTIONS" => await Scenarios.ConnectionsAsync(settings, "connections"),
    "IDLE" => await Scenarios.ConnectionsAsync(settings, "idle"),
    "SLOW" => await Scenarios.SlowAsync(settings),
    "RESUME" => await Resume.RunAsync(settings),
    _ => null,
};
if (result is null)
{
    Console.Error.WriteLine($"Unknown scenario '{settings.Scenario}'.");
    return 2;
}

result.Write(settings.Output);
return 0;
