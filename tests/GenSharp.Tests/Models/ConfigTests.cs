using System.Text.Json.Nodes;
using GenSharp.Models;
using GenSharp.Models.Gan;
using GenSharp.Models.Vae;
using Xunit;

namespace GenSharp.Tests;

public class ConfigTests
{
    [Fact]
    public void JsonRoundTripAndOverrides()
    {
        var json = ConfigJson.ToJson(new VaeConfig());
        Assert.Equal(16, json["latent_dim"]!.GetValue<int>());
        ConfigJson.ApplyOverrides(json, typeof(VaeConfig), new[] { "latent_dim=7", "beta=0.5" });
        var c = ConfigJson.FromJson<VaeConfig>(json);
        Assert.Equal(new VaeConfig { LatentDim = 7, Beta = 0.5 }, c);
        var g = ConfigJson.FromJson<DcganConfig>(ConfigJson.ToJson(new DcganConfig { Conditional = true, SpectralNorm = true }));
        Assert.True(g.Conditional && g.SpectralNorm);
    }

    [Fact]
    public void UnknownAndBadFieldsAreNamed()
    {
        var json = ConfigJson.ToJson(new VaeConfig());
        json["latnt_dim"] = 3;
        Assert.Contains("unknown config field", Assert.Throws<GenSharpException>(() => ConfigJson.FromJson<VaeConfig>(json)).Message);
        var j2 = ConfigJson.ToJson(new VaeConfig());
        Assert.Contains("beta", Assert.ThrowsAny<GenSharpException>(() => ConfigJson.ApplyOverrides(j2, typeof(VaeConfig), new[] { "beta=abc" })).Message);
        Assert.Contains("known fields", Assert.ThrowsAny<GenSharpException>(() => ConfigJson.ApplyOverrides(j2, typeof(VaeConfig), new[] { "zzz=1" })).Message);
        var j3 = ConfigJson.ToJson(new DcganConfig());
        j3["image_size"] = 30;
        Assert.Contains("image_size", Assert.Throws<GenSharpException>(() => ConfigJson.FromJson<DcganConfig>(j3)).Message);
    }

    [Fact]
    public void RegistryKnowsTheFamiliesInOrder()
    {
        var names = FamilyRegistry.All.Select(f => f.Name).ToList();
        Assert.Equal(new[] { "bert", "classifier", "clip", "dbn", "dcgan", "ddpm", "ebm", "glow", "gpt", "music", "pixelcnn", "rbm", "realnvp", "tts", "txt2img", "vae", "videoclassifier", "videodiffusion", "wavenet" }, names);
        Assert.Contains("known families", Assert.Throws<GenSharpException>(() => FamilyRegistry.Get("gpt9")).Message);
    }
}
