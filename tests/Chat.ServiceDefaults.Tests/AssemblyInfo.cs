// Instrumentation listens process-wide, so one test's app would see another's requests if they ran side by side.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
