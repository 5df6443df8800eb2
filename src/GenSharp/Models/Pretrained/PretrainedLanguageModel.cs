using GenSharp.Models.Gpt;

namespace GenSharp.Models.Pretrained;

/// <summary>
/// A pretrained Hugging Face decoder as an <see cref="ILanguageModel"/>: gpt2 runs on GenSharp's own
/// <see cref="GptNetwork"/> (config mapped by <see cref="HfModelConfig.ToGptConfig"/>, tensor names by
/// <see cref="HfTensorNames"/>), llama/qwen2/mistral on <see cref="LlamaNetwork"/>. Computed in float32. The model itself
/// only decodes and scores; its <see cref="Network"/> is fine-tuned with low-rank adapters (<see cref="Training.FineTuneRun"/>).
/// </summary>
public sealed class PretrainedLanguageModel : ILanguageModel, IDisposable
{
    /// <summary>Builds the network of <paramref name="config"/> (random weights until loaded) on <paramref name="device"/>.</summary>
    public PretrainedLanguageModel(HfModelConfig config, Device device)
    {
        Config = config;
        Device = device;
        Network = config.IsGpt2 ? new GptNetwork(config.ToGptConfig()) : new LlamaNetwork(config);
        Network.to(device);
        Network.eval();
    }

    /// <summary>The architecture read from config.json.</summary>
    public HfModelConfig Config { get; }
    /// <summary>The network (parameter names: GenSharp's GPT names for gpt2, Hugging Face's for the Llama family).</summary>
    public DecoderNetwork Network { get; }
    public Device Device { get; }
    public int ContextLength => Config.ContextLength;
    public int VocabSize => Config.VocabSize;

    /// <summary>Parameters (a tied head counted once).</summary>
    public long ParameterCount => Network.parameters().Sum(p => p.numel());

    /// <summary>An empty cache of the model's key/value heads (grouped-query models cache Hkv heads, not H).</summary>
    public KvCache CreateCache() => Network.CreateCache();

    /// <summary>An empty cache of <paramref name="slots"/> independent rows (continuous batching).</summary>
    public SlotKvCache CreateSlotCache(int slots) => Network.CreateSlotCache(slots);

    public Tensor Logits(Tensor tokens, IKvCache? cache = null, bool lastOnly = false) => Network.Logits(tokens.to(Device), cache, lastOnly);

    public double Loss(Tensor inputs, Tensor targets) => Network.Loss(inputs.to(Device), targets.to(Device));

    public void Dispose() => Network.Dispose();
}
