namespace AddCowMount.Nbd.Protocol;

/// <summary>The metadata contexts this server offers, with the ids it gives them on every connection.</summary>
internal enum MetaContext : uint
{
    /// <summary><c>base:allocation</c>: hole|zero where no layer holds data (reads zeros), 0 (data) elsewhere.</summary>
    BaseAllocation = 1,

    /// <summary><c>qemu:allocation-depth</c>: 0 unallocated, 1 in the overlay, 2+ in the backing chain.</summary>
    AllocationDepth = 2,
}

internal static class MetaContexts
{
    public const string BaseAllocationName = "base:allocation";
    public const string AllocationDepthName = "qemu:allocation-depth";

    /// <summary>Status flags of base:allocation.</summary>
    public const uint StateHole = 1 << 0;
    public const uint StateZero = 1 << 1;

    public static string NameOf(MetaContext context) => context == MetaContext.BaseAllocation ? BaseAllocationName : AllocationDepthName;

    /// <summary>Contexts a query names. LIST also accepts a bare namespace ("base:", "qemu:") meaning all of it.</summary>
    public static IEnumerable<MetaContext> Match(string query, bool list)
    {
        if (query == BaseAllocationName || (list && query == "base:"))
        {
            yield return MetaContext.BaseAllocation;
        }

        if (query == AllocationDepthName || (list && query == "qemu:"))
        {
            yield return MetaContext.AllocationDepth;
        }
    }

    /// <summary>A context's status value for an extent at the given allocation depth.</summary>
    public static uint Status(MetaContext context, int depth) => context == MetaContext.BaseAllocation
        ? depth == 0 ? StateHole | StateZero : 0
        : (uint)depth;
}
