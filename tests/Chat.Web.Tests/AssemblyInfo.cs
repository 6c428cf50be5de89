// The browser tests drive real Chromium against real servers on a small shared machine: one at a time.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
