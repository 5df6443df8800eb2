using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Provenance;

/// <summary>The outcome of <see cref="Verify"/>: whether the image's manifest holds, why not, and what it says.</summary>
/// <param name="Valid">Signature good, by the expected key, and the image's hash matches.</param>
/// <param name="Reason">One line: what failed, or "signature and image hash verified".</param>
/// <param name="Manifest">The manifest, when it could be read.</param>
public sealed record ProvenanceCheck(bool Valid, string Reason, JsonObject? Manifest)
{
    /// <summary>
    /// Checks the sidecar manifest of <paramref name="imagePath"/>: its signature against <paramref name="trustedPublicKey"/>
    /// (SubjectPublicKeyInfo, base64; the manifest must name the same key) and the image file's SHA-256 against the manifest.
    /// </summary>
    public static ProvenanceCheck Verify(string imagePath, string trustedPublicKey)
    {
        if (!File.Exists(imagePath)) throw new GenSharpException($"image '{imagePath}' does not exist; check the path");
        var sidecar = ProvenanceManifest.SidecarOf(imagePath);
        if (!File.Exists(sidecar)) return new(false, $"no provenance manifest ({Path.GetFileName(sidecar)} is missing)", null);
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(sidecar)) as JsonObject ?? throw new JsonException("not an object"); }
        catch (JsonException) { return new(false, $"{Path.GetFileName(sidecar)} is not a JSON manifest", null); }
        if (json["format"]?.GetValue<string>() != ProvenanceManifest.Format)
            return new(false, $"{Path.GetFileName(sidecar)} is not a {ProvenanceManifest.Format} manifest", json);
        if (json["signature"] is not JsonObject sig || sig["public_key"]?.GetValue<string>() is not { } publicKey || sig["value"]?.GetValue<string>() is not { } value)
            return new(false, "the manifest is not signed", json);
        if (publicKey != trustedPublicKey)
            return new(false, $"signed by another key (key id {SafeKeyId(publicKey)}, expected {ProvenanceSigner.KeyIdOf(trustedPublicKey)})", json);
        var unsigned = (JsonObject)json.DeepClone();
        unsigned.Remove("signature");
        bool good;
        try
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(Convert.FromBase64String(publicKey), out _);
            good = ecdsa.VerifyData(ProvenanceManifest.Canonical(unsigned), Convert.FromBase64String(value), HashAlgorithmName.SHA256);
        }
        catch (Exception e) when (e is FormatException or CryptographicException) { good = false; }
        if (!good) return new(false, "the signature does not match the manifest (the manifest was changed after signing)", json);
        var expected = json["image_sha256"]?.GetValue<string>();
        var actual = ProvenanceManifest.Sha256Of(imagePath);
        if (expected != actual) return new(false, $"the image was changed after signing (SHA-256 {actual[..16]}…, manifest says {expected?[..Math.Min(16, expected.Length)]}…)", json);
        return new(true, "signature and image hash verified", json);
    }

    static string SafeKeyId(string publicKey)
    {
        try { return ProvenanceSigner.KeyIdOf(publicKey); } catch (FormatException) { return "unreadable"; }
    }

    /// <summary>"ddpm model 'run' (weights model.safetensors 3f2a…), seed 1, steps 20, … at 2026-…Z; watermark pixel, tree-ring (key …)".</summary>
    public string Describe()
    {
        if (Manifest is null) return "";
        var m = Manifest["model"];
        var weights = m?["weights_sha256"] is JsonObject w ? string.Join(", ", w.Select(kv => $"{kv.Key} {kv.Value?.GetValue<string>()[..12]}…")) : "";
        var settings = Manifest["settings"] is JsonObject s ? string.Join(", ", s.Select(kv => $"{kv.Key} {kv.Value}")) : "";
        var wm = Manifest["watermark"];
        var methods = wm?["methods"] is JsonArray a && a.Count > 0 ? string.Join(", ", a.Select(x => x?.GetValue<string>())) + $" (key {wm?["key_id"]})" : "none";
        return $"made by {Manifest["software"]} with {m?["family"]} model '{m?["name"]}'" + (weights.Length > 0 ? $" (weights {weights})" : "") +
               $" at {Manifest["created_utc"]}; {settings}; watermark: {methods}";
    }
}
