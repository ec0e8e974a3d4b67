using System.Text.Json;
using System.Text.Json.Serialization;

namespace AddCowMount.Cli.Output;

public sealed record ChainLayerJson(
    [property: JsonPropertyName("filename")] string FileName,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("virtual-size")] long VirtualSize,
    [property: JsonPropertyName("image-file")] string? ImageFile,
    [property: JsonPropertyName("backing-filename")] string? BackingFileName,
    [property: JsonPropertyName("full-backing-filename")] string? FullBackingFileName);

public sealed record InfoJson(
    [property: JsonPropertyName("filename")] string FileName,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("virtual-size")] long VirtualSize,
    [property: JsonPropertyName("header-size")] ulong HeaderSize,
    [property: JsonPropertyName("image-file")] string ImageFile,
    [property: JsonPropertyName("full-image-file")] string FullImageFile,
    [property: JsonPropertyName("backing-filename")] string? BackingFileName,
    [property: JsonPropertyName("full-backing-filename")] string? FullBackingFileName,
    [property: JsonPropertyName("allocated-bytes")] long AllocatedBytes,
    [property: JsonPropertyName("allocated-percent")] double AllocatedPercent,
    [property: JsonPropertyName("fully-allocated")] bool FullyAllocated,
    [property: JsonPropertyName("backing-chain")] IReadOnlyList<ChainLayerJson> BackingChain);

public sealed record MapEntryJson(
    [property: JsonPropertyName("start")] long Start,
    [property: JsonPropertyName("length")] long Length,
    [property: JsonPropertyName("depth")] int Depth,
    [property: JsonPropertyName("present")] bool Present,
    [property: JsonPropertyName("zero")] bool Zero,
    [property: JsonPropertyName("data")] bool Data,
    [property: JsonPropertyName("offset")] long? Offset,
    [property: JsonPropertyName("filename")] string? FileName);

public sealed record FindingJson(
    [property: JsonPropertyName("severity")] string Severity,
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("message")] string Message);

public sealed record CheckJson(
    [property: JsonPropertyName("filename")] string FileName,
    [property: JsonPropertyName("errors")] int Errors,
    [property: JsonPropertyName("warnings")] int Warnings,
    [property: JsonPropertyName("findings")] IReadOnlyList<FindingJson> Findings);

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(InfoJson))]
[JsonSerializable(typeof(List<MapEntryJson>))]
[JsonSerializable(typeof(CheckJson))]
public sealed partial class CliJsonContext : JsonSerializerContext;
