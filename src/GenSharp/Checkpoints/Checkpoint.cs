using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Models;
using GenSharp.Models.Pretrained;
using GenSharp.Runtime;
using GenSharp.Text;

namespace GenSharp.Checkpoints;

/// <summary>
/// A checkpoint: the folder a training run saves and everything that reads it back. Layout (<see cref="CheckpointFolder"/>
/// names the files): <c>config.json</c>, the manifest (family, config, step, the data it was trained on, GenSharp
/// version); <c>model.safetensors</c>; <c>ema.safetensors</c> when the run kept an EMA of the weights; for resume
/// <c>trainer_state.json</c> (<see cref="TrainerState"/>) and <c>optimizer.bin</c>; extra files such as a text
/// family's <c>tokenizer.json</c>. A run folder holds it as <c>checkpoint/</c>.
/// </summary>
public sealed class Checkpoint
{
    readonly Lazy<(IFamily Family, FamilyConfig Config)> _model;

    Checkpoint(string path, JsonObject manifest)
    {
        Path = path;
        Manifest = manifest;
        _model = new(ReadFamilyAndConfig);
    }

    /// <summary>The checkpoint folder (resolved from a run folder when one was given).</summary>
    public string Path { get; }
    /// <summary>The parsed <c>config.json</c>.</summary>
    public JsonObject Manifest { get; }
    /// <summary>The family that trained it.</summary>
    public IFamily Family => _model.Value.Family;
    /// <summary>The family's config, read and validated.</summary>
    public FamilyConfig Config => _model.Value.Config;
    /// <summary>Steps the checkpoint was trained for.</summary>
    public long Step => Manifest["step"]?.GetValue<long>() ?? 0;
    /// <summary>The data the run was trained on.</summary>
    public RecordedData Data => new(Manifest["data"] as JsonObject);
    /// <summary>How the weights are quantized (<c>gensharp quantize</c>), or null for float weights.</summary>
    public Models.Quantization.QuantizationSpec? Quantization => Models.Quantization.QuantizationSpec.Read(Manifest, FileIn(CheckpointFolder.ConfigFile));
    /// <summary>True when the run kept EMA weights beside its raw ones.</summary>
    public bool HasEma => File.Exists(FileIn(CheckpointFolder.EmaFile));

    string FileIn(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>True when <paramref name="path"/> (a checkpoint or a run folder) holds a checkpoint.</summary>
    public static bool Exists(string path) => CheckpointFolder.Exists(path);

    /// <summary>
    /// Opens a checkpoint folder, a run folder, or the <c>.old</c> copy a crash left, and reads its manifest. One-line
    /// errors say what is missing or corrupt, and point Hugging Face model folders to <see cref="LoadTextModel"/>.
    /// </summary>
    public static Checkpoint Open(string path)
    {
        var checkpoint = OpenFolder(path);
        _ = checkpoint.Config;
        return checkpoint;
    }

    /// <summary>Opens the folder and parses its manifest without reading the family's config (the trainer's own checkpoints).</summary>
    internal static Checkpoint OpenFolder(string path)
    {
        var dir = CheckpointFolder.Resolve(path);
        var file = System.IO.Path.Combine(dir, CheckpointFolder.ConfigFile);
        JsonObject manifest;
        try { manifest = JsonNode.Parse(File.ReadAllText(file))?.AsObject() ?? throw new JsonException("empty"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        { throw new GenSharpException($"{file} is not valid JSON ({e.Message.Split('\n')[0]}); the checkpoint is corrupt"); }
        if (manifest["family"] is null && manifest["model_type"] is not null)
            throw new GenSharpException($"{dir} is a Hugging Face model folder (model_type {manifest["model_type"]!.ToJsonString()}); a text model: load it for text generation, chat or text evaluation, not as an image checkpoint");
        return new Checkpoint(dir, manifest);
    }

    (IFamily, FamilyConfig) ReadFamilyAndConfig()
    {
        var file = FileIn(CheckpointFolder.ConfigFile);
        var familyName = Manifest["family"]?.GetValue<string>()
            ?? throw new GenSharpException($"{file} has no \"family\" field; the checkpoint is corrupt");
        var family = FamilyRegistry.Get(familyName);
        var configJson = Manifest["config"] as JsonObject
            ?? throw new GenSharpException($"{file} has no \"config\" object; the checkpoint is corrupt");
        return (family, family.ReadConfig((JsonObject)configJson.DeepClone()));
    }

    /// <summary>Opens a checkpoint (folder or run folder) and loads its model onto a device, with EMA weights when present.</summary>
    public static LoadedModel LoadModel(string path, Device device, bool preferEma = true) => Open(path).Load(device, preferEma);

    /// <summary>Builds the family's model from the checkpoint's config and loads its weights (EMA weights when kept and preferred).</summary>
    public LoadedModel Load(Device device, bool preferEma = true)
    {
        var quantization = Quantization;
        if (quantization is not null) QuantizedCheckpoint.CheckDevice(quantization, Path, device);
        IGenerativeModel model;
        using (quantization is null ? null : Models.Gpt.DeferredWeights.Begin(quantization.Head))   // the layers the file's codes replace get no float32 storage
            model = Family.Build(Config, device);
        try
        {
            if (quantization is { } spec)
                QuantizedCheckpoint.Load(model.Model as Models.Gpt.DecoderNetwork
                    ?? throw new GenSharpException($"{Path}: a quantized {Family.Name} checkpoint, but the {Family.Name} model is no decoder"), spec, Path, device);
            else LoadWeights(model.Model, model.ObsoleteTensorNames, preferEma);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new LoadedModel(Family, model, Path, Manifest);
    }

    /// <summary>
    /// Copies the checkpoint's weights into <paramref name="module"/> (then its EMA weights over them when
    /// <paramref name="preferEma"/> and the run kept them). Tensors of older releases named in
    /// <paramref name="obsoleteNames"/> (the model's <c>ObsoleteTensorNames</c>) are skipped.
    /// </summary>
    public void LoadWeights(nn.Module module, IReadOnlyCollection<string> obsoleteNames, bool preferEma)
    {
        if (Quantization is { } spec)
            throw new GenSharpException($"{Path} holds {spec.Describe()} weights for inference; train or resume from the float checkpoint it was made from");
        var weights = FileIn(CheckpointFolder.ModelFile);
        if (!File.Exists(weights)) throw new GenSharpException($"{Path} has no {CheckpointFolder.ModelFile}; the checkpoint is incomplete");
        using (var reader = SafetensorsReader.Open(weights))
            ModuleState.Load(module, reader, obsoleteNames);
        if (preferEma && HasEma)
        {
            using var reader = SafetensorsReader.Open(FileIn(CheckpointFolder.EmaFile));
            ModuleState.Load(module, reader, obsoleteNames);
        }
    }

    /// <summary>
    /// The checkpoint's weights by state-dict name, on the CPU: the EMA weights when <paramref name="preferEma"/> and the
    /// run kept them, else the trained ones. The caller owns (disposes) the tensors. For a module that embeds another
    /// family's trained model (latent diffusion's VAE).
    /// </summary>
    public Dictionary<string, Tensor> ReadWeights(bool preferEma = true)
    {
        using var st = Safetensors.Load(FileIn(preferEma && HasEma ? CheckpointFolder.EmaFile : CheckpointFolder.ModelFile));
        return st.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
    }

    /// <summary>The EMA weights by state-dict name (the caller disposes them); a one-line error when the run kept none.</summary>
    public SafetensorsFile OpenEmaWeights(string parameter)
    {
        if (!HasEma) throw new ParameterException(parameter, $"was given but {Path} has no EMA weights; resume without it or from a run that kept them");
        return Safetensors.Load(FileIn(CheckpointFolder.EmaFile));
    }

    /// <summary>The trainer state for resume; null when the checkpoint was saved without it.</summary>
    public TrainerState? ReadTrainerState()
    {
        var file = FileIn(CheckpointFolder.TrainerStateFile);
        return File.Exists(file) ? TrainerState.Read(file) : null;
    }

    /// <summary>Opens <c>optimizer.bin</c> (the optimizers' state as <c>StepRunner.SaveState</c> wrote it).</summary>
    public Stream OpenOptimizerState() => File.OpenRead(FileIn(CheckpointFolder.OptimizerFile));

    /// <summary>The tokenizer a text family saved beside its weights.</summary>
    public ITokenizer ReadTokenizer() => Tokenizers.Load(Path);

    /// <summary>
    /// Loads a text model: a GenSharp text checkpoint (folder or run folder) or a Hugging Face model folder
    /// (config.json with model_type; see <see cref="HfModelFolder"/>) onto <paramref name="device"/>.
    /// </summary>
    /// <remarks>
    /// With a LoRA adapter in PEFT's format (<see cref="Models.Lora.PeftAdapter"/>) merged into its
    /// weights: <paramref name="adapter"/> over the base <paramref name="path"/>; or, without one, an adapter folder as
    /// <paramref name="path"/>, whose <c>base_model_name_or_path</c> names the base (resolved as
    /// <see cref="Models.Lora.PeftAdapter.ResolveBase"/> says). Merged, it decodes as fast as the base.
    /// </remarks>
    public static LoadedTextModel LoadTextModel(string path, Device device, string? adapter = null)
    {
        if (adapter is null && Models.Lora.PeftAdapter.IsAdapterFolder(path))
        {
            adapter = path;
            using var peek = Models.Lora.PeftAdapter.Load(path);
            path = peek.ResolveBase()
                ?? throw new GenSharpException($"{path} is a LoRA adapter whose base model \"{peek.BaseModel}\" is not a folder here; put the base beside it, or load the base with --adapter {path}");
        }
        var loaded = LoadBaseTextModel(path, device);
        if (adapter is null) return loaded;
        try
        {
            var network = loaded.Network as Models.Gpt.DecoderNetwork
                ?? throw new GenSharpException($"{path}: adapters apply to decoder language models");
            using var peft = Models.Lora.PeftAdapter.Load(adapter);
            peft.ApplyTo(network, Models.Lora.PeftAdapter.ModulePrefix(loaded.Pretrained && loaded.Name == "gpt2"));
            Models.Lora.LoraAdapters.Merge(network);
            network.eval();
            return loaded with { Adapter = System.IO.Path.GetFullPath(adapter) };
        }
        catch { loaded.Dispose(); throw; }
    }

    static LoadedTextModel LoadBaseTextModel(string path, Device device)
    {
        if (HfModelFolder.IsHfFolder(path))
        {
            var (model, tokenizer) = HfModelFolder.Load(path, device);
            var c = model.Config;
            // Grouped-query models cache KvHeads heads of HeadDim per layer, in float32 (weights are cast when loaded).
            return new LoadedTextModel(model, tokenizer, c.ModelType, path, 0, true, model)
            {
                Network = model.Network, KvCacheBytesPerToken = 2L * c.Layers * c.KvHeads * c.HeadDim * sizeof(float),
            };
        }
        var checkpoint = Open(path);
        var m = checkpoint.Load(device);
        try
        {
            if (m.Model is not ILanguageModel lm)
                throw new GenSharpException($"{m.Path} holds a {m.Family.Name} checkpoint; text generation and evaluation need a text model such as gpt");
            return new LoadedTextModel(lm, checkpoint.ReadTokenizer(), m.Family.Name, m.Path, m.Step, false, m)
            {
                Network = m.Model.Model, KvCacheBytesPerToken = DecoderKvBytesPerToken(m.Model.Model, lm.VocabSize),
            };
        }
        catch { m.Dispose(); throw; }
    }

    /// <summary>
    /// KV bytes per token of a decoder whose attention caches the full residual width (no grouped-query heads, as GenSharp's
    /// gpt): 2 × layers × width × element size, the width read off the token embedding (the vocabulary × width matrix).
    /// </summary>
    static long DecoderKvBytesPerToken(nn.Module network, int vocabSize)
    {
        if (network is not Models.Gpt.DecoderNetwork decoder) return 0;
        var embedding = network.parameters().FirstOrDefault(p => p.dim() == 2 && p.shape[0] == vocabSize);
        return embedding is null ? 0 : 2L * decoder.Layers * embedding.shape[1] * embedding.element_size();
    }

    /// <summary>The manifest of a new run: family, the built model's config, GenSharp version and the data (<see cref="RecordedData"/>).</summary>
    public static JsonObject NewManifest(IFamily family, FamilyConfig config, JsonObject data) => new()
    {
        ["family"] = family.Name,
        ["config"] = ConfigJson.ToJson(config),
        ["gensharp_version"] = TorchRuntime.GenSharpVersion,
        ["data"] = data,
    };

    /// <summary>
    /// Writes a checkpoint to <paramref name="dir"/> atomically (a crash leaves the old or the new one whole).
    /// </summary>
    /// <param name="dir">The checkpoint folder.</param>
    /// <param name="manifest">config.json; its <c>step</c> is also recorded in the weights' metadata.</param>
    /// <param name="weights">The model's state dict.</param>
    /// <param name="emaWeights">The EMA of the weights, when kept.</param>
    /// <param name="state">The trainer state; with <paramref name="optimizerState"/>, what resume needs.</param>
    /// <param name="optimizerState">Writes optimizer.bin.</param>
    /// <param name="files">Further files (name → text), e.g. a tokenizer.</param>
    public static void Save(string dir, JsonObject manifest, IReadOnlyDictionary<string, Tensor> weights,
        IReadOnlyDictionary<string, Tensor>? emaWeights = null, TrainerState? state = null, Action<BinaryWriter>? optimizerState = null,
        IReadOnlyDictionary<string, string>? files = null)
    {
        long step = manifest["step"]?.GetValue<long>() ?? 0;
        CheckpointFolder.Save(dir, tmp =>
        {
            AtomicFile.WriteAllText(System.IO.Path.Combine(tmp, CheckpointFolder.ConfigFile),
                manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            Safetensors.Save(System.IO.Path.Combine(tmp, CheckpointFolder.ModelFile), weights,
                new Dictionary<string, string> { ["format"] = "pt", ["step"] = step.ToString(CultureInfo.InvariantCulture) });
            foreach (var (name, text) in files ?? new Dictionary<string, string>()) AtomicFile.WriteAllText(System.IO.Path.Combine(tmp, name), text);
            if (emaWeights is not null)
                Safetensors.Save(System.IO.Path.Combine(tmp, CheckpointFolder.EmaFile), emaWeights);
            if (optimizerState is not null)
                AtomicFile.Write(System.IO.Path.Combine(tmp, CheckpointFolder.OptimizerFile), stream =>
                {
                    using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                    optimizerState(w);
                });
            if (state is not null)
                AtomicFile.WriteAllText(System.IO.Path.Combine(tmp, CheckpointFolder.TrainerStateFile), state.ToJsonText());
        });
    }
}
