namespace AddCowMount.TestSupport;

/// <summary>
/// Lines that say what a randomized test did (seeds, thread and operation counts, crash points). They go to the test's
/// own output and, when ADDCOW_TEST_REPORT names a file, to that file too, which .ci/run prints after the run.
/// </summary>
public static class TestReport
{
    private static readonly Lock s_lock = new();

    public static void Line(TestContext context, string line)
    {
        context.WriteLine(line);
        string? path = Environment.GetEnvironmentVariable("ADDCOW_TEST_REPORT");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        lock (s_lock)
        {
            File.AppendAllText(path, $"{context.FullyQualifiedTestClassName?.Split('.')[^1]}.{context.TestName}: {line}{Environment.NewLine}");
        }
    }
}
