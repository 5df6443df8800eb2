using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Models.Gpt;

namespace GenSharp.Models.Pretrained;

/// <summary>
/// The architecture keys of a Hugging Face <c>config.json</c> that GenSharp reads, for <c>gpt2</c> and the
/// Llama family (<c>llama</c>, <c>qwen2</c>, <c>mistral</c>). Keys that would change the computation but
/// are not implemented are refused by <see cref="Parse"/> with a message naming the key.
/// </summary>
public sealed record HfModelConfig
{
    /// <summary>config.json's model_type.</summary>
    public required string ModelType { get; init; }
    /// <summary>Embedding rows (vocab_size).</summary>
    public required int VocabSize { get; init; }
    /// <summary>Residual width (gpt2 n_embd; llama hidden_size).</summary>
    public required int HiddenSize { get; init; }
    /// <summary>Transformer blocks (n_layer / num_hidden_layers).</summary>
    public required int Layers { get; init; }
    /// <summary>Query heads (n_head / num_attention_heads).</summary>
    public required int Heads { get; init; }
    /// <summary>Key/value heads (num_key_value_heads; = Heads without grouped-query attention).</summary>
    public required int KvHeads { get; init; }
    /// <summary>Width of one head (head_dim, else hidden / heads).</summary>
    public required int HeadDim { get; init; }
    /// <summary>MLP width (gpt2: 4·n_embd, the only n_inner supported; llama: intermediate_size).</summary>
    public required int Intermediate { get; init; }
    /// <summary>Most tokens the model attends to: n_positions / max_position_embeddings, capped at sliding_window when one is active.</summary>
    public required int ContextLength { get; init; }
    /// <summary>Epsilon of the norms (layer_norm_epsilon / rms_norm_eps).</summary>
    public required double NormEps { get; init; }
    /// <summary>Head shares the token embedding matrix (tie_word_embeddings).</summary>
    public required bool TieEmbeddings { get; init; }
    /// <summary>RoPE base θ (rope_theta, default 10000).</summary>
    public double RopeTheta { get; init; } = 10000;
    /// <summary>Llama-3 RoPE frequency scaling (rope_scaling with rope_type "llama3"), or null.</summary>
    public Llama3RopeScaling? RopeScaling { get; init; }
    /// <summary>q/k/v projections have a bias (qwen2 always; llama/mistral attention_bias).</summary>
    public bool QkvBias { get; init; }
    /// <summary>The attention output projection has a bias (llama attention_bias; not qwen2).</summary>
    public bool OutputBias { get; init; }
    /// <summary>The SwiGLU projections have biases (llama mlp_bias).</summary>
    public bool MlpBias { get; init; }
    /// <summary>gpt2: GELU by its tanh approximation (gelu_new) rather than the exact erf form (gelu).</summary>
    public bool TanhGelu { get; init; } = true;

    /// <summary>True for gpt2, false for the Llama family.</summary>
    public bool IsGpt2 => ModelType == "gpt2";

    /// <summary>
    /// A gpt2 config as the <see cref="GptConfig"/> of GenSharp's GPT (nanoGPT's from_pretrained does the same):
    /// n_layer, n_head, n_embd, n_positions → block_size, vocab_size, biases everywhere, layer_norm_epsilon,
    /// the GELU form and the tied or untied head; no dropout (inference).
    /// </summary>
    public GptConfig ToGptConfig()
    {
        if (!IsGpt2) throw new InvalidOperationException($"a {ModelType} config is not a GPT");
        var c = new GptConfig
        {
            NLayer = Layers, NHead = Heads, NEmbd = HiddenSize, BlockSize = ContextLength, VocabSize = VocabSize,
            Bias = true, Dropout = 0, LayerNormEpsilon = NormEps, TieWordEmbeddings = TieEmbeddings,
            Activation = TanhGelu ? GptActivation.GeluTanh : GptActivation.Gelu,
        };
        c.Validate();
        return c;
    }

    /// <summary>Model types GenSharp runs.</summary>
    public static readonly string[] Supported = { "gpt2", "llama", "qwen2", "mistral" };

    /// <summary>Reads and checks config.json (<paramref name="source"/> names it in errors).</summary>
    public static HfModelConfig Parse(JsonObject j, string source)
    {
        var type = Str(j, "model_type") ?? throw new GenSharpException($"{source} has no model_type");
        if (!Supported.Contains(type))
            throw new GenSharpException($"{source}: model_type \"{type}\" is not supported (supported: {string.Join(", ", Supported)})");
        return type == "gpt2" ? ParseGpt2(j, source) : ParseLlama(j, type, source);
    }

    static HfModelConfig ParseGpt2(JsonObject j, string source)
    {
        int embd = Int(j, source, "n_embd") ?? 768, heads = Int(j, source, "n_head") ?? 12;
        var act = Str(j, "activation_function") ?? "gelu_new";
        if (act is not ("gelu_new" or "gelu_pytorch_tanh" or "gelu"))
            throw new GenSharpException($"{source}: activation_function \"{act}\" is not supported (gelu_new, gelu_pytorch_tanh, gelu)");
        if (Bool(j, "scale_attn_weights") == false) throw new GenSharpException($"{source}: scale_attn_weights false is not supported");
        if (Bool(j, "scale_attn_by_inverse_layer_idx") == true) throw new GenSharpException($"{source}: scale_attn_by_inverse_layer_idx true is not supported");
        var c = new HfModelConfig
        {
            ModelType = "gpt2",
            VocabSize = Int(j, source, "vocab_size") ?? 50257,
            HiddenSize = embd,
            Layers = Int(j, source, "n_layer") ?? 12,
            Heads = heads,
            KvHeads = heads,
            HeadDim = heads > 0 ? embd / heads : 0,
            Intermediate = Int(j, source, "n_inner") ?? 4 * embd,
            ContextLength = Int(j, source, "n_positions") ?? Int(j, source, "n_ctx") ?? 1024,
            NormEps = Double(j, source, "layer_norm_epsilon") ?? 1e-5,
            TieEmbeddings = Bool(j, "tie_word_embeddings") ?? true,
            TanhGelu = act != "gelu",
        };
        c.Validate(source);
        if (embd % heads != 0) throw new GenSharpException($"{source}: n_embd ({embd}) must be a multiple of n_head ({heads})");
        if (c.Intermediate != 4 * embd)
            throw new GenSharpException($"{source}: n_inner {c.Intermediate} is not supported (null or 4·n_embd = {4 * embd}, GPT-2's MLP width)");
        return c;
    }

    static HfModelConfig ParseLlama(JsonObject j, string type, string source)
    {
        int hidden = Req(j, source, "hidden_size"), heads = Req(j, source, "num_attention_heads");
        var act = Str(j, "hidden_act") ?? "silu";
        if (act != "silu") throw new GenSharpException($"{source}: hidden_act \"{act}\" is not supported (silu)");
        if (Double(j, source, "partial_rotary_factor") is { } prf && prf != 1.0)
            throw new GenSharpException($"{source}: partial_rotary_factor {prf} is not supported (1.0)");
        int context = Int(j, source, "max_position_embeddings") ?? 2048;
        // A sliding window changes attention only beyond its length: capping the context there keeps the
        // computation exact (mistral always; qwen2 only with use_sliding_window).
        bool windowed = type == "mistral" || (type == "qwen2" && Bool(j, "use_sliding_window") == true);
        if (windowed && Int(j, source, "sliding_window") is { } window && window > 0) context = Math.Min(context, window);
        bool attnBias = Bool(j, "attention_bias") ?? false;
        var c = new HfModelConfig
        {
            ModelType = type,
            VocabSize = Req(j, source, "vocab_size"),
            HiddenSize = hidden,
            Layers = Req(j, source, "num_hidden_layers"),
            Heads = heads,
            KvHeads = Int(j, source, "num_key_value_heads") ?? heads,
            HeadDim = Int(j, source, "head_dim") ?? (heads > 0 ? hidden / heads : 0),
            Intermediate = Req(j, source, "intermediate_size"),
            ContextLength = context,
            NormEps = Double(j, source, "rms_norm_eps") ?? 1e-6,
            TieEmbeddings = Bool(j, "tie_word_embeddings") ?? false,
            RopeTheta = Double(j, source, "rope_theta") ?? 10000,
            RopeScaling = Llama3RopeScaling.Parse(j["rope_scaling"], source),
            QkvBias = type == "qwen2" || attnBias,
            OutputBias = type != "qwen2" && attnBias,
            MlpBias = Bool(j, "mlp_bias") ?? false,
        };
        c.Validate(source);
        if (c.KvHeads < 1 || heads % c.KvHeads != 0)
            throw new GenSharpException($"{source}: num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({c.KvHeads})");
        if (c.HeadDim % 2 != 0) throw new GenSharpException($"{source}: head_dim ({c.HeadDim}) must be even for rotary embeddings");
        if (!(c.RopeTheta > 0)) throw new GenSharpException($"{source}: rope_theta must be > 0, got {c.RopeTheta}");
        return c;
    }

    void Validate(string source)
    {
        void Require(bool ok, string message) { if (!ok) throw new GenSharpException($"{source}: {message}"); }
        Require(VocabSize >= 1, $"vocab_size must be ≥ 1, got {VocabSize}");
        Require(HiddenSize >= 1, $"the hidden size must be ≥ 1, got {HiddenSize}");
        Require(Layers >= 1, $"the number of layers must be ≥ 1, got {Layers}");
        Require(Heads >= 1, $"the number of heads must be ≥ 1, got {Heads}");
        Require(HeadDim >= 1, $"the head width must be ≥ 1, got {HeadDim}");
        Require(Intermediate >= 1, $"the MLP width must be ≥ 1, got {Intermediate}");
        Require(ContextLength >= 1, $"the context length must be ≥ 1, got {ContextLength}");
        Require(NormEps > 0 && NormEps < 1, $"the norm epsilon must be in (0, 1), got {NormEps}");
    }

    static string? Str(JsonObject j, string key) =>
        j[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    static bool? Bool(JsonObject j, string key) =>
        j[key] is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? v.GetValue<bool>() : null;

    internal static double? Double(JsonObject j, string source, string key) => j[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture),
        var other => throw new GenSharpException($"{source}: {key} must be a number, got {other.ToJsonString()}"),
    };

    static int? Int(JsonObject j, string source, string key) => Double(j, source, key) is { } d
        ? (d == Math.Floor(d) && Math.Abs(d) < int.MaxValue ? (int)d : throw new GenSharpException($"{source}: {key} must be an integer, got {d}"))
        : null;

    static int Req(JsonObject j, string source, string key) =>
        Int(j, source, key) ?? throw new GenSharpException($"{source} has no {key}; it is not a complete Hugging Face config");
}
