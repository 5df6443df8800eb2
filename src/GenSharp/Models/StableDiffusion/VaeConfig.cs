namespace GenSharp.Models.StableDiffusion;

/// <summary>The fields GenSharp reads from a diffusers <c>AutoencoderKL</c> config.json.</summary>
public sealed record VaeConfig(int InChannels, int OutChannels, int LatentChannels, int[] BlockOutChannels, int LayersPerBlock,
    int NormGroups, double ScalingFactor)
{
    /// <summary>The Stable Diffusion 1.x/2.x VAE (kl-f8: 8× smaller, 4 latent channels).</summary>
    public static VaeConfig Sd { get; } = new(3, 3, 4, new[] { 128, 256, 512, 512 }, 2, 32, 0.18215);

    /// <summary>Reads and checks config.json.</summary>
    public static VaeConfig Read(string file)
    {
        var j = SdJson.Read(file);
        var c = new VaeConfig(SdJson.Int(j, "in_channels", file, 3), SdJson.Int(j, "out_channels", file, 3), SdJson.Int(j, "latent_channels", file, 4),
            SdJson.Ints(j, "block_out_channels", file), SdJson.Int(j, "layers_per_block", file, 2), SdJson.Int(j, "norm_num_groups", file, 32),
            SdJson.Double(j, "scaling_factor", file, 0.18215));
        if (j["shift_factor"] is { } s && s.ToJsonString() != "null" && s.ToJsonString() != "0" && s.ToJsonString() != "0.0")
            throw new GenSharpException($"{file}: shift_factor is set (an SD3/Flux VAE); GenSharp reads SD 1.x/2.x VAEs");
        if (SdJson.Bool(j, "mid_block_add_attention", file, true) == false)
            throw new GenSharpException($"{file}: mid_block_add_attention false is not supported");
        if (c.BlockOutChannels.Length < 1 || c.LayersPerBlock < 1 || c.ScalingFactor <= 0)
            throw new GenSharpException($"{file}: block_out_channels must be non-empty, layers_per_block ≥ 1 and scaling_factor > 0");
        return c;
    }

    /// <summary>Pixels per latent cell along a side: 2^(blocks − 1) (8 for SD).</summary>
    public int Downscale => 1 << (BlockOutChannels.Length - 1);
}
