using System.Security.Cryptography;
using System.Text.Json.Nodes;
using GenSharp.Runtime;

namespace GenSharp.Provenance;

/// <summary>
/// Signs provenance manifests with a local ECDSA P-256 key (System.Security.Cryptography), created on first use as a
/// PKCS#8 PEM file readable by its owner only (0600). The key is self-made: a signature shows that the holder of this
/// key wrote the manifest and that neither the manifest nor the image changed since — not who the holder is.
/// </summary>
public sealed class ProvenanceSigner : IDisposable
{
    readonly ECDsa _key;

    ProvenanceSigner(ECDsa key) { _key = key; }

    /// <summary>Where the default signing key lives: <c>UserConfig.Directory/provenance-signing.pem</c>.</summary>
    public static string DefaultPath => Path.Combine(UserConfig.Directory, "provenance-signing.pem");

    /// <summary>The key at <paramref name="path"/> (default <see cref="DefaultPath"/>), created if missing.</summary>
    public static ProvenanceSigner LoadOrCreate(string? path = null)
    {
        path ??= DefaultPath;
        if (!File.Exists(path))
        {
            using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            try { UserConfig.WriteSecret(path, System.Text.Encoding.ASCII.GetBytes(fresh.ExportPkcs8PrivateKeyPem() + "\n")); }
            catch (IOException) when (File.Exists(path)) { }   // another process made it first
        }
        return Load(path);
    }

    /// <summary>The key at <paramref name="path"/>.</summary>
    public static ProvenanceSigner Load(string path)
    {
        if (!File.Exists(path)) throw new GenSharpException($"no signing key at {path}; give an existing PEM file or leave the option out to use {DefaultPath}");
        var key = ECDsa.Create();
        try { key.ImportFromPem(File.ReadAllText(path)); }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new GenSharpException($"{path} is not an ECDSA private key in PEM form");
        }
        if (key.KeySize != 256) { key.Dispose(); throw new GenSharpException($"{path} is a {key.KeySize}-bit key; provenance signing uses P-256"); }
        return new ProvenanceSigner(key);
    }

    /// <summary>The public key (SubjectPublicKeyInfo) in base64.</summary>
    public string PublicKey => Convert.ToBase64String(_key.ExportSubjectPublicKeyInfo());

    /// <summary>Short id of a public key: 16 hex digits of the SHA-256 of its SubjectPublicKeyInfo.</summary>
    public static string KeyIdOf(string publicKeyBase64) =>
        Convert.ToHexString(SHA256.HashData(Convert.FromBase64String(publicKeyBase64)).AsSpan(0, 8)).ToLowerInvariant();

    /// <summary>The manifest as JSON with its <c>signature</c> member.</summary>
    public JsonObject Sign(ProvenanceManifest manifest)
    {
        var json = manifest.ToJson();
        var signature = _key.SignData(ProvenanceManifest.Canonical(json), HashAlgorithmName.SHA256);
        json["signature"] = new JsonObject
        {
            ["algorithm"] = "ECDSA P-256 SHA-256",
            ["public_key"] = PublicKey,
            ["key_id"] = KeyIdOf(PublicKey),
            ["value"] = Convert.ToBase64String(signature),
        };
        return json;
    }

    /// <summary>Signs the manifest of an image file and writes it beside the image; returns the sidecar's path.</summary>
    public string WriteSidecar(string imagePath, Func<string, ProvenanceManifest> manifestFor)
    {
        var manifest = manifestFor(ProvenanceManifest.Sha256Of(imagePath));
        var sidecar = ProvenanceManifest.SidecarOf(imagePath);
        var text = Sign(manifest).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        GenSharp.Checkpoints.AtomicFile.WriteAllText(sidecar, text + "\n");
        return sidecar;
    }

    public void Dispose() => _key.Dispose();
}
