using System.Text.Json.Nodes;
using GenSharp.Media;
using GenSharp.Provenance;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public sealed class ProvenanceTests
{
    static ProvenanceManifest Manifest(string image, string sha) => new()
    {
        Image = Path.GetFileName(image), ImageSha256 = sha, CreatedUtc = new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero),
        ModelFamily = "ddpm", ModelName = "run", WeightsSha256 = new Dictionary<string, string> { ["model.safetensors"] = new string('a', 64) },
        Settings = new Dictionary<string, string> { ["seed"] = "1", ["steps"] = "20", ["prompt"] = "a dark shirt" },
        Watermarks = new[] { "pixel" }, WatermarkKeyId = "0123456789abcdef",
    };

    static string Image(string dir, byte value = 100)
    {
        var path = Path.Combine(dir, "img.png");
        using var x = torch.full(new long[] { 1, 1, 28, 28 }, value, dtype: ScalarType.Byte);
        ImageGrid.SavePng(x, path, columns: 1, padding: 0);
        return path;
    }

    [Fact]
    public void SignedSidecarVerifiesAndEveryTamperingFailsWithItsReason()
    {
        var dir = TestData.TempDir();
        var image = Image(dir);
        using var signer = ProvenanceSigner.LoadOrCreate(Path.Combine(dir, "keys", "sign.pem"));
        var sidecar = signer.WriteSidecar(image, sha => Manifest(image, sha));
        Assert.Equal(image + ".provenance.json", sidecar);
        var ok = ProvenanceCheck.Verify(image, signer.PublicKey);
        Assert.True(ok.Valid, ok.Reason);
        Assert.Contains("ddpm model 'run'", ok.Describe());
        Assert.Contains("prompt a dark shirt", ok.Describe());
        var original = File.ReadAllText(sidecar);

        // A changed field: the signature no longer matches.
        File.WriteAllText(sidecar, original.Replace("\"seed\": \"1\"", "\"seed\": \"2\""));
        Assert.NotEqual(original, File.ReadAllText(sidecar));
        var field = ProvenanceCheck.Verify(image, signer.PublicKey);
        Assert.False(field.Valid);
        Assert.Contains("signature does not match", field.Reason);
        File.WriteAllText(sidecar, original);

        // A changed pixel: the image hash no longer matches.
        var bytes = File.ReadAllBytes(image);
        var (w, h, rgba) = Png.Decode(image);
        rgba[4 * (14 * w + 14)] ^= 1;
        using (var changed = torch.tensor(rgba, new long[] { h, w, 4 }, ScalarType.Byte).narrow(2, 0, 3).permute(2, 0, 1).unsqueeze(0).contiguous())
            ImageGrid.SavePng(changed, image, columns: 1, padding: 0);
        var pixel = ProvenanceCheck.Verify(image, signer.PublicKey);
        Assert.False(pixel.Valid);
        Assert.Contains("image was changed", pixel.Reason);
        File.WriteAllBytes(image, bytes);
        Assert.True(ProvenanceCheck.Verify(image, signer.PublicKey).Valid);

        // Another key: a manifest it signed is not trusted, and pasting the trusted public key in breaks the signature.
        using var other = ProvenanceSigner.LoadOrCreate(Path.Combine(dir, "keys", "other.pem"));
        other.WriteSidecar(image, sha => Manifest(image, sha));
        var foreign = ProvenanceCheck.Verify(image, signer.PublicKey);
        Assert.False(foreign.Valid);
        Assert.Contains("signed by another key", foreign.Reason);
        var forged = JsonNode.Parse(File.ReadAllText(sidecar))!.AsObject();
        forged["signature"]!["public_key"] = signer.PublicKey;
        File.WriteAllText(sidecar, forged.ToJsonString());
        var pasted = ProvenanceCheck.Verify(image, signer.PublicKey);
        Assert.False(pasted.Valid);
        Assert.Contains("signature does not match", pasted.Reason);

        File.Delete(sidecar);
        Assert.Contains("no provenance manifest", ProvenanceCheck.Verify(image, signer.PublicKey).Reason);
    }

    [Fact]
    public void KeysAreCreatedOnceWithOwnerOnlyPermissions()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "cfg", "sign.pem");
        string first;
        using (var a = ProvenanceSigner.LoadOrCreate(path)) first = a.PublicKey;
        using (var b = ProvenanceSigner.LoadOrCreate(path)) Assert.Equal(first, b.PublicKey);
        var keyPath = Path.Combine(dir, "cfg", "watermark.key");
        var k1 = GenSharp.Watermarking.WatermarkKey.LoadOrCreate(keyPath);
        Assert.Equal(k1.Id, GenSharp.Watermarking.WatermarkKey.LoadOrCreate(keyPath).Id);
        Assert.NotEqual(k1.Id, GenSharp.Watermarking.WatermarkKey.Create().Id);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        }
        File.WriteAllText(Path.Combine(dir, "bad.key"), "not hex");
        var e = Assert.Throws<GenSharpException>(() => GenSharp.Watermarking.WatermarkKey.Load(Path.Combine(dir, "bad.key")));
        Assert.Contains("not a watermark key", e.Message);
    }
}
