using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>A pretrained Hugging Face decoder (gpt2, llama, qwen2, mistral) as an <see cref="ILanguageModel"/>. Inference only: computed in float32.</summary>
public sealed class PretrainedLanguageModel : ILanguageModel, IDisposable
{
    /// <summary>Builds the network of <paramref name="config"/> (random weights until loaded) on <paramref name="device"/>.</summary>
    public PretrainedLanguageModel(HfModelConfig config, Device device)
    {
        Config = config;
        Device = device;
        Network = config.IsGpt2 ? new Gpt2Network(config) : new LlamaNetwork(config);
        Network.to(device);
        Network.eval();
    }

    /// <summary>The architecture read from config.json.</summary>
    public HfModelConfig Config { get; }
    /// <summary>The network, with Hugging Face parameter names.</summary>
    public HfNetwork Network { get; }
    public Device Device { get; }
    public int ContextLength => Config.ContextLength;
    public int VocabSize => Config.VocabSize;
    /// <summary>Not trained here: no validation schedule.</summary>
    public int ValidationEvery => 0;
    /// <summary>Not trained here: no validation schedule.</summary>
    public int ValidationBatches => 0;

    /// <summary>Parameters (a tied head counted once).</summary>
    public long ParameterCount => Network.parameters().Sum(p => p.numel());

    /// <summary>An empty cache of the model's key/value heads (grouped-query models cache Hkv heads, not H).</summary>
    public KvCache CreateCache() => new(Config.Layers, Config.ContextLength);

    public Tensor Logits(Tensor tokens, KvCache? cache = null, bool lastOnly = false)
    {
        using var _ = torch.no_grad();
        Network.eval();
        return Network.Forward(tokens.to(Device), cache, lastOnly);
    }

    /// <summary>Mean next-token cross-entropy; one row at a time, since (T, V) logits of a large vocabulary are big.</summary>
    public double Loss(Tensor inputs, Tensor targets)
    {
        using var _ = torch.no_grad();
        Network.eval();
        double total = 0;
        for (long r = 0; r < inputs.shape[0]; r++)
        {
            using var scope = torch.NewDisposeScope();
            var logits = Network.Forward(inputs.narrow(0, r, 1).to(Device));                     // (1, T, V)
            total += nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.narrow(0, r, 1).to(Device).view(-1)).item<float>();
        }
        return total / inputs.shape[0];
    }

    public void Dispose() => Network.Dispose();
}
