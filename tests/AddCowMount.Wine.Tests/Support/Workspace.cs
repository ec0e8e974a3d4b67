using System.Text.Json.Nodes;

namespace AddCowMount.Wine.Tests.Support;

/// <summary>A temporary folder for one test, removed afterwards, and the comparisons the cross-build tests need.</summary>
internal sealed class Workspace : IDisposable
{
    public Workspace(string name)
    {
        Root = Path.Combine(Path.GetTempPath(), $"addcow-wine-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    public string Folder(params string[] parts)
    {
        string folder = Combine(parts);
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>A raw file of pseudo-random bytes (fixed seed: both builds get the same base).</summary>
    public string RandomFile(string path, int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, data);
        return path;
    }

    /// <summary>
    /// JSON output with the workspace's own folders replaced, so the two builds' outputs compare: each side's root
    /// (Linux form, and the Windows form Wine gives it) becomes ROOT and '\' becomes '/'.
    /// </summary>
    public static string NormalizeJson(string json, params string[] roots)
    {
        JsonNode? node = JsonNode.Parse(json);
        return Normalize(node, roots)?.ToJsonString() ?? "null";
    }

    private static JsonNode? Normalize(JsonNode? node, string[] roots)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (string key in obj.Select(p => p.Key).ToList())
                {
                    obj[key] = Normalize(obj[key]?.DeepClone(), roots);
                }

                return obj;
            case JsonArray array:
                for (int i = 0; i < array.Count; i++)
                {
                    array[i] = Normalize(array[i]?.DeepClone(), roots);
                }

                return array;
            case JsonValue value when value.TryGetValue(out string? text):
                foreach (string root in roots.OrderByDescending(r => r.Length))
                {
                    text = text.Replace(root, "ROOT", StringComparison.OrdinalIgnoreCase);
                }

                return JsonValue.Create(text.Replace('\\', '/'));
            default:
                return node;
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
