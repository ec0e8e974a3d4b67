namespace AddCowMount.Nbd;

/// <summary>Error values of replies: the protocol's restricted set, not the host's errno.</summary>
public enum NbdError : uint
{
    None = 0,
    Perm = 1,
    IO = 5,
    NoMemory = 12,
    Invalid = 22,
    NoSpace = 28,
    Overflow = 75,
    NotSupported = 95,
    Shutdown = 108,
}
