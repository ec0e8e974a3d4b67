namespace AddCowMount.Cli;

/// <summary>The process exit codes scripts can rely on.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Error = 1;
    public const int Usage = 2;

    /// <summary><c>check</c> completed and found problems in the image.</summary>
    public const int CheckFoundErrors = 3;

    public const int Interrupted = 130;
}
