using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace AddCowMount.Benchmarks.Infrastructure;

/// <summary>The size of one operation of a benchmark (its request size), for the MiB/s and IOPS columns.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class RequestSizeAttribute(int bytes) : Attribute
{
    public int Bytes { get; } = bytes;
}

/// <summary>MiB/s or IOPS from the mean time per operation (one request) and the method's <see cref="RequestSizeAttribute"/>.</summary>
internal sealed class ThroughputColumn(bool iops) : IColumn
{
    public string Id => iops ? "AddCowIops" : "AddCowMiBps";

    public string ColumnName => iops ? "IOPS" : "MiB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => iops ? 1 : 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => iops ? "Requests per second (1 s / Mean)" : "Mebibytes per second (request size / Mean)";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        int? bytes = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttribute<RequestSizeAttribute>()?.Bytes;
        if (meanNs is not > 0 || bytes is null)
        {
            return "-";
        }

        double perSecond = 1e9 / meanNs.Value;
        return iops
            ? perSecond.ToString("N0", CultureInfo.InvariantCulture)
            : (perSecond * bytes.Value / (1024.0 * 1024.0)).ToString("N1", CultureInfo.InvariantCulture);
    }

    public override string ToString() => ColumnName;
}
