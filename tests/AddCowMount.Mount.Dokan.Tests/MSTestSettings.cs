using System.Runtime.Versioning;

[assembly: Parallelize(Scope = ExecutionScope.MethodLevel)]

// The adapter under test is Windows-only; its managed API runs anywhere without the native driver.
[assembly: SupportedOSPlatform("windows")]
