using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Chat.Benchmarks -- --filter '*'   (add --job short for a quick look)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>The entry point, named so the switcher can find this assembly.</summary>
public partial class Program;
