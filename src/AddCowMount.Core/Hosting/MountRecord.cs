using System.Text.Json.Serialization;

namespace AddCowMount.Core.Hosting;

/// <summary>One live mount as the CLI (`addcow list`) and the tray see it.</summary>
public sealed record MountRecord(
    [property: JsonPropertyName("mountPoint")] string MountPoint,
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("readOnly")] bool ReadOnly,
    [property: JsonPropertyName("files")] IReadOnlyList<string> Files,
    [property: JsonPropertyName("startedUtc")] DateTime StartedUtc,
    [property: JsonPropertyName("control")] string Control)
{
    [JsonPropertyName("openHandles")]
    public int OpenHandles { get; init; }

    /// <summary>Views this mount does not show, each "no NAME.vhd: why" (a disk past 2040 GiB has no .vhd).</summary>
    [JsonPropertyName("notShown")]
    public IReadOnlyList<string> NotShown { get; init; } = [];
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(MountRecord))]
[JsonSerializable(typeof(List<MountRecord>))]
public sealed partial class MountJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
