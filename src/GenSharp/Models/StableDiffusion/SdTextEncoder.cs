using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.StableDiffusion;

/// <summary>
/// CLIP's text transformer (Radford et al. 2021) with the key names of transformers' <c>CLIPTextModel</c>:
/// token + learned position embeddings, pre-LayerNorm blocks with causal self-attention and a quick-GELU (or GELU) MLP,
/// a final LayerNorm. Stable Diffusion cross-attends to every position of <see cref="Forward"/>'s hidden states.
/// </summary>
public sealed class SdTextEncoder : Module
{
    private readonly TextTransformer text_model;

    /// <summary>Builds the network with untrained weights.</summary>
    public SdTextEncoder(SdTextEncoderConfig config) : base(nameof(SdTextEncoder))
    {
        Config = config;
        text_model = new TextTransformer(config);
        RegisterComponents();
    }

    /// <summary>The config it was built from.</summary>
    public SdTextEncoderConfig Config { get; }

    /// <summary>ids (B, T) int64 → last hidden states (B, T, D) and the pooled state (B, D) at each row's end token.</summary>
    public (Tensor Hidden, Tensor Pooled) Forward(Tensor ids)
    {
        var h = text_model.Forward(ids);
        // transformers: with eos_token_id 2 (old configs) the end token is the largest id; otherwise its first occurrence.
        Tensor at = Config.EosTokenId == 2 ? ids.argmax(-1) : ids.eq(Config.EosTokenId).to(ScalarType.Int32).argmax(-1);
        var pooled = h[torch.arange(ids.shape[0], device: ids.device), at];
        return (h, pooled);
    }

    private sealed class TextTransformer : Module
    {
        private readonly Embeddings embeddings;
        private readonly Encoder encoder;
        private readonly LayerNorm final_layer_norm;

        public TextTransformer(SdTextEncoderConfig c) : base(nameof(TextTransformer))
        {
            embeddings = new Embeddings(c);
            encoder = new Encoder(c);
            final_layer_norm = LayerNorm(c.HiddenSize, c.LayerNormEps);
            RegisterComponents();
        }

        public Tensor Forward(Tensor ids) => final_layer_norm.forward(encoder.Forward(embeddings.Forward(ids)));
    }

    private sealed class Embeddings : Module
    {
        private readonly Embedding token_embedding;
        private readonly Embedding position_embedding;

        public Embeddings(SdTextEncoderConfig c) : base(nameof(Embeddings))
        {
            token_embedding = Embedding(c.VocabSize, c.HiddenSize);
            position_embedding = Embedding(c.MaxPositions, c.HiddenSize);
            RegisterComponents();
        }

        public Tensor Forward(Tensor ids)
        {
            if (ids.shape[1] > position_embedding.weight!.shape[0])
                throw new GenSharpException($"the text encoder reads at most {position_embedding.weight.shape[0]} tokens, got {ids.shape[1]}");
            var pos = torch.arange(ids.shape[1], device: ids.device);
            return token_embedding.forward(ids) + position_embedding.forward(pos).unsqueeze(0);   // (B, T, D)
        }
    }

    private sealed class Encoder : Module
    {
        private readonly ModuleList<Layer> layers = new();

        public Encoder(SdTextEncoderConfig c) : base(nameof(Encoder))
        {
            for (int i = 0; i < c.Layers; i++) layers.Add(new Layer(c));
            RegisterComponents();
        }

        public Tensor Forward(Tensor x)
        {
            foreach (var l in layers) x = l.Forward(x);
            return x;
        }
    }

    private sealed class Layer : Module
    {
        private readonly LayerNorm layer_norm1;
        private readonly SelfAttention self_attn;
        private readonly LayerNorm layer_norm2;
        private readonly Mlp mlp;

        public Layer(SdTextEncoderConfig c) : base(nameof(Layer))
        {
            layer_norm1 = LayerNorm(c.HiddenSize, c.LayerNormEps);
            self_attn = new SelfAttention(c.HiddenSize, c.Heads);
            layer_norm2 = LayerNorm(c.HiddenSize, c.LayerNormEps);
            mlp = new Mlp(c);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x)
        {
            x = x + self_attn.Forward(layer_norm1.forward(x));
            return x + mlp.Forward(layer_norm2.forward(x));
        }
    }

    private sealed class SelfAttention : Module
    {
        private readonly Linear q_proj, k_proj, v_proj, out_proj;
        private readonly int _heads;

        public SelfAttention(int width, int heads) : base(nameof(SelfAttention))
        {
            _heads = heads;
            q_proj = Linear(width, width); k_proj = Linear(width, width); v_proj = Linear(width, width); out_proj = Linear(width, width);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x)
        {
            long b = x.shape[0], t = x.shape[1], w = x.shape[2], d = w / _heads;
            Tensor Split(Tensor y) => y.view(b, t, _heads, d).transpose(1, 2);                     // (B, heads, T, d)
            var y = functional.scaled_dot_product_attention(Split(q_proj.forward(x)), Split(k_proj.forward(x)), Split(v_proj.forward(x)), null, 0.0, true);
            return out_proj.forward(y.transpose(1, 2).reshape(b, t, w));
        }
    }

    private sealed class Mlp : Module
    {
        private readonly Linear fc1, fc2;
        private readonly bool _quick;

        public Mlp(SdTextEncoderConfig c) : base(nameof(Mlp))
        {
            _quick = c.HiddenAct == "quick_gelu";
            fc1 = Linear(c.HiddenSize, c.IntermediateSize);
            fc2 = Linear(c.IntermediateSize, c.HiddenSize);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x)
        {
            var h = fc1.forward(x);
            h = _quick ? h * torch.sigmoid(1.702 * h) : functional.gelu(h);    // quick GELU: OpenAI CLIP's sigmoid approximation
            return fc2.forward(h);
        }
    }
}
