using System.ComponentModel;
using System.Security.Cryptography;
using GenSharp.Provenance;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class ProvenanceSettings : CliSettings
{
    [CommandArgument(0, "<ACTION>")]
    [Description("verify (IMAGE...: check each image's signed FILE.provenance.json) or key (print this machine's public signing key, PEM)")]
    public string Action { get; init; } = "";

    [CommandArgument(1, "[IMAGES]")]
    [Description("verify: the image files (their manifests sit beside them)")]
    public string[] Images { get; init; } = Array.Empty<string>();

    [CommandOption("--public-key <PEM>")]
    [Description("verify: trust this public key (a PEM file from 'gensharp provenance key' on the machine that made the images) instead of this machine's")]
    public string? PublicKey { get; init; }
}

/// <summary>
/// <c>gensharp provenance verify IMAGE...</c>: one line per image, "verified: …what made it…" or "NOT verified: why";
/// exits 0 when every image verifies, 4 when one does not (1: bad input). <c>gensharp provenance key</c> prints the
/// local public key.
/// </summary>
public sealed class ProvenanceCommand : Command<ProvenanceSettings>
{
    /// <summary>Exit code of verify when an image does not verify.</summary>
    public const int NotVerified = 4;

    public override int Execute(CommandContext context, ProvenanceSettings s, CancellationToken cancel)
    {
        switch (s.Action)
        {
            case "key":
                if (s.Images.Length > 0 || s.PublicKey is not null) throw new UsageException("'provenance key' takes no images or options");
                using (var signer = ProvenanceSigner.LoadOrCreate())
                {
                    using var ecdsa = ECDsa.Create();
                    ecdsa.ImportSubjectPublicKeyInfo(Convert.FromBase64String(signer.PublicKey), out _);
                    Console.WriteLine(ecdsa.ExportSubjectPublicKeyInfoPem());
                    Console.Error.WriteLine($"key id {ProvenanceSigner.KeyIdOf(signer.PublicKey)} ({ProvenanceSigner.DefaultPath})");
                }
                return 0;
            case "verify":
                if (s.Images.Length == 0) throw new UsageException("'provenance verify' needs at least one image: gensharp provenance verify IMAGE.png ...");
                var trusted = s.PublicKey is { } pem ? ReadPublicKey(pem) : LocalPublicKey();
                bool all = true;
                foreach (var image in s.Images)
                {
                    var check = ProvenanceCheck.Verify(image, trusted);
                    Console.WriteLine(check.Valid ? $"{image}: verified: {check.Describe()}" : $"{image}: NOT verified: {check.Reason}");
                    all &= check.Valid;
                }
                return all ? 0 : NotVerified;
            default:
                throw new UsageException($"unknown action '{s.Action}'; use 'gensharp provenance verify IMAGE...' or 'gensharp provenance key'");
        }
    }

    static string LocalPublicKey()
    {
        if (!File.Exists(ProvenanceSigner.DefaultPath))
            throw new GenSharpException($"this machine has no signing key ({ProvenanceSigner.DefaultPath}); give the maker's public key with --public-key FILE.pem");
        using var signer = ProvenanceSigner.Load(ProvenanceSigner.DefaultPath);
        return signer.PublicKey;
    }

    static string ReadPublicKey(string path)
    {
        if (!File.Exists(path)) throw new GenSharpException($"--public-key {path}: no such file");
        using var ecdsa = ECDsa.Create();
        try { ecdsa.ImportFromPem(File.ReadAllText(path)); }
        catch (Exception e) when (e is ArgumentException or CryptographicException) { throw new GenSharpException($"--public-key {path}: not an ECDSA public key in PEM form"); }
        return Convert.ToBase64String(ecdsa.ExportSubjectPublicKeyInfo());
    }
}
