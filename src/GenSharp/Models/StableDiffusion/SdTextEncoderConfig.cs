namespace GenSharp.Models.StableDiffusion;

/// <summary>The fields GenSharp reads from a transformers <c>CLIPTextModel</c> config.json (the <c>text_encoder/</c> of a Stable Diffusion folder).</summary>
public sealed record SdTextEncoderConfig(int VocabSize, int HiddenSize, int IntermediateSize, int Layers, int Heads,
    int MaxPositions, string HiddenAct, double LayerNormEps, int EosTokenId)
{
    /// <summary>CLIP ViT-L/14's text tower, the text encoder of SD 1.x.</summary>
    public static SdTextEncoderConfig ClipVitL14 { get; } = new(49408, 768, 3072, 12, 12, 77, "quick_gelu", 1e-5, 49407);

    /// <summary>Reads and checks config.json.</summary>
    public static SdTextEncoderConfig Read(string file)
    {
        var j = SdJson.Read(file);
        var c = new SdTextEncoderConfig(SdJson.Int(j, "vocab_size", file), SdJson.Int(j, "hidden_size", file),
            SdJson.Int(j, "intermediate_size", file), SdJson.Int(j, "num_hidden_layers", file), SdJson.Int(j, "num_attention_heads", file),
            SdJson.Int(j, "max_position_embeddings", file, 77), SdJson.String(j, "hidden_act", file) ?? "quick_gelu",
            SdJson.Double(j, "layer_norm_eps", file, 1e-5), SdJson.Int(j, "eos_token_id", file, 2));
        if (c.HiddenAct is not ("quick_gelu" or "gelu"))
            throw new GenSharpException($"{file}: hidden_act \"{c.HiddenAct}\" is not supported; CLIP text models use quick_gelu or gelu");
        if (c.HiddenSize % c.Heads != 0)
            throw new GenSharpException($"{file}: hidden_size {c.HiddenSize} is not a multiple of num_attention_heads {c.Heads}");
        if (c.VocabSize < 1 || c.Layers < 1 || c.MaxPositions < 2)
            throw new GenSharpException($"{file}: vocab_size, num_hidden_layers must be ≥ 1 and max_position_embeddings ≥ 2");
        return c;
    }
}
