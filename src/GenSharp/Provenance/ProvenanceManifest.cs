using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Provenance;

/// <summary>
/// What made an image, written beside it as <c>IMAGE.provenance.json</c> and signed with the local ECDSA P-256 key
/// (<see cref="ProvenanceSigner"/>): the model (family, name, SHA-256 of its weight files), the settings (seed, steps,
/// guidance, prompt, …), the UTC time, the image file's SHA-256 and the id of the watermark key that marked it.
/// </summary>
/// <remarks>
/// The signature covers the manifest's JSON without its <c>signature</c> member, written compactly with members in
/// the order they appear (which <see cref="ToJson"/> fixes), as UTF-8. It is ECDSA over P-256 with SHA-256 (IEEE P1363
/// r‖s, base64), the public key beside it as SubjectPublicKeyInfo (base64).
/// </remarks>
public sealed class ProvenanceManifest
{
    /// <summary>Format tag.</summary>
    public const string Format = "gensharp-provenance/1";

    /// <summary>The file name of the image (no folder).</summary>
    public required string Image { get; init; }
    /// <summary>SHA-256 of the image file, lower-case hex.</summary>
    public required string ImageSha256 { get; init; }
    /// <summary>When it was made, UTC, ISO 8601.</summary>
    public required DateTimeOffset CreatedUtc { get; init; }
    /// <summary>The model family (e.g. ddpm).</summary>
    public required string ModelFamily { get; init; }
    /// <summary>The model's name (its run folder's name, or the server's model name).</summary>
    public required string ModelName { get; init; }
    /// <summary>SHA-256 of each weight file of the checkpoint, by file name.</summary>
    public required IReadOnlyDictionary<string, string> WeightsSha256 { get; init; }
    /// <summary>Settings as text (seed, steps, guidance, prompt, scheduler, …), by name.</summary>
    public required IReadOnlyDictionary<string, string> Settings { get; init; }
    /// <summary>The watermarks in the image: "pixel" and/or "tree-ring", empty when none.</summary>
    public required IReadOnlyList<string> Watermarks { get; init; }
    /// <summary>The watermark key's public id, or null without a watermark.</summary>
    public string? WatermarkKeyId { get; init; }
    /// <summary>GenSharp's version.</summary>
    public string Software { get; init; } = "gensharp";

    /// <summary>The manifest as JSON without a signature (the bytes that are signed, once written compactly).</summary>
    public JsonObject ToJson() => new()
    {
        ["format"] = Format,
        ["image"] = Image,
        ["image_sha256"] = ImageSha256,
        ["created_utc"] = CreatedUtc.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        ["software"] = Software,
        ["model"] = new JsonObject
        {
            ["family"] = ModelFamily,
            ["name"] = ModelName,
            ["weights_sha256"] = new JsonObject(WeightsSha256.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        },
        ["settings"] = new JsonObject(Settings.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["watermark"] = new JsonObject
        {
            ["methods"] = new JsonArray(Watermarks.Select(w => (JsonNode?)w).ToArray()),
            ["key_id"] = WatermarkKeyId,
        },
    };

    /// <summary>SHA-256 of a file, lower-case hex.</summary>
    public static string Sha256Of(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f)).ToLowerInvariant();
    }

    /// <summary>SHA-256 of bytes, lower-case hex.</summary>
    public static string Sha256Of(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    /// <summary>
    /// SHA-256 of every <c>*.safetensors</c> file in a checkpoint folder, by file name; for a diffusers folder (one with a
    /// <c>model_index.json</c>) also those of its component folders, by relative path (<c>unet/diffusion_pytorch_model.safetensors</c>).
    /// </summary>
    public static IReadOnlyDictionary<string, string> WeightsOf(string checkpointFolder)
    {
        if (!Directory.Exists(checkpointFolder)) return new Dictionary<string, string>();
        var option = File.Exists(Path.Combine(checkpointFolder, "model_index.json")) ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly;
        return Directory.GetFiles(checkpointFolder, "*.safetensors", option)
            .Select(f => Path.GetRelativePath(checkpointFolder, f).Replace(Path.DirectorySeparatorChar, '/'))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToDictionary(f => f, f => Sha256Of(Path.Combine(checkpointFolder, f)));
    }

    /// <summary>Where the manifest of <paramref name="imagePath"/> goes: the image's path + <c>.provenance.json</c>.</summary>
    public static string SidecarOf(string imagePath) => imagePath + ".provenance.json";

    /// <summary>Compact UTF-8 JSON of a node, the form that is signed.</summary>
    public static byte[] Canonical(JsonNode node) => JsonSerializer.SerializeToUtf8Bytes(node, new JsonSerializerOptions { WriteIndented = false });
}
