using System.Text.Json.Nodes;

namespace GenSharp.Models.StableDiffusion;

/// <summary>The fields GenSharp reads from a diffusers <c>UNet2DConditionModel</c> config.json (SD 1.x / 2.x / SD-Turbo shapes).</summary>
public sealed record UNetConfig(int InChannels, int OutChannels, int SampleSize, int[] BlockOutChannels, int LayersPerBlock,
    int NormGroups, double NormEps, string[] DownBlockTypes, string[] UpBlockTypes, int CrossAttentionDim, int[] Heads,
    bool LinearProjection, bool FlipSinToCos, double FreqShift)
{
    /// <summary>Stable Diffusion 1.5's UNet (runwayml/stable-diffusion-v1-5, unet/config.json).</summary>
    public static UNetConfig Sd15 { get; } = new(4, 4, 64, new[] { 320, 640, 1280, 1280 }, 2, 32, 1e-5,
        new[] { "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D" },
        new[] { "UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D" }, 768, new[] { 8, 8, 8, 8 }, false, true, 0);

    /// <summary>Reads and checks config.json.</summary>
    public static UNetConfig Read(string file)
    {
        var j = SdJson.Read(file);
        var ch = SdJson.Ints(j, "block_out_channels", file);
        int n = ch.Length;
        // diffusers' historical naming: "attention_head_dim" holds the number of heads unless num_attention_heads is given.
        var heads = j["num_attention_heads"] is JsonNode ? SdJson.Ints(j, "num_attention_heads", file, n) : SdJson.Ints(j, "attention_head_dim", file, n);
        foreach (var unsupported in new[] { "addition_embed_type", "class_embed_type", "time_cond_proj_dim", "encoder_hid_dim" })
            if (j[unsupported] is JsonNode v && v.ToJsonString() != "null")
                throw new GenSharpException($"{file}: \"{unsupported}\" is set; GenSharp reads SD 1.x/2.x/Turbo UNets (SDXL and later are not supported)");
        if (j["transformer_layers_per_block"] is JsonNode tl && tl.ToJsonString() != "1")
            throw new GenSharpException($"{file}: transformer_layers_per_block must be 1 (SD 1.x/2.x); SDXL-style UNets are not supported");
        var c = new UNetConfig(SdJson.Int(j, "in_channels", file, 4), SdJson.Int(j, "out_channels", file, 4), SdJson.Int(j, "sample_size", file, 64),
            ch, SdJson.Int(j, "layers_per_block", file, 2), SdJson.Int(j, "norm_num_groups", file, 32), SdJson.Double(j, "norm_eps", file, 1e-5),
            SdJson.Strings(j, "down_block_types", file), SdJson.Strings(j, "up_block_types", file), SdJson.Int(j, "cross_attention_dim", file),
            heads, SdJson.Bool(j, "use_linear_projection", file, false), SdJson.Bool(j, "flip_sin_to_cos", file, true), SdJson.Double(j, "freq_shift", file, 0));
        if (SdJson.String(j, "mid_block_type", file) is { } mid && mid != "UNetMidBlock2DCrossAttn")
            throw new GenSharpException($"{file}: mid_block_type \"{mid}\" is not supported (UNetMidBlock2DCrossAttn)");
        c.Check(file);
        return c;
    }

    /// <summary>Throws a one-line error for an inconsistent config.</summary>
    public void Check(string where)
    {
        int n = BlockOutChannels.Length;
        if (n < 1) throw new GenSharpException($"{where}: block_out_channels is empty");
        if (DownBlockTypes.Length != n || UpBlockTypes.Length != n)
            throw new GenSharpException($"{where}: down_block_types and up_block_types need {n} entries (one per block_out_channels)");
        if (Heads.Length != n) throw new GenSharpException($"{where}: attention_head_dim needs {n} entries, got {Heads.Length}");
        foreach (var t in DownBlockTypes)
            if (t is not ("CrossAttnDownBlock2D" or "DownBlock2D")) throw new GenSharpException($"{where}: down block type \"{t}\" is not supported (CrossAttnDownBlock2D, DownBlock2D)");
        foreach (var t in UpBlockTypes)
            if (t is not ("CrossAttnUpBlock2D" or "UpBlock2D")) throw new GenSharpException($"{where}: up block type \"{t}\" is not supported (CrossAttnUpBlock2D, UpBlock2D)");
        for (int i = 0; i < n; i++)
            if (BlockOutChannels[i] % Heads[i] != 0) throw new GenSharpException($"{where}: block {i} has {BlockOutChannels[i]} channels, not a multiple of its {Heads[i]} heads");
        if (LayersPerBlock < 1) throw new GenSharpException($"{where}: layers_per_block must be ≥ 1");
    }

    /// <summary>How much smaller the innermost feature map is than the latent: 2^(blocks − 1).</summary>
    public int Downscale => 1 << (BlockOutChannels.Length - 1);
}
