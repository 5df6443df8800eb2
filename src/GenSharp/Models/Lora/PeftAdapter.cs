using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models.Gpt;
using GenSharp.Text;

namespace GenSharp.Models.Lora;

/// <summary>
/// LoRA adapters in Hugging Face PEFT's folder format, so PEFT loads GenSharp's adapters and GenSharp loads PEFT's:
/// <c>adapter_config.json</c> (peft_type LORA, r, lora_alpha, target_modules, base_model_name_or_path, …) and
/// <c>adapter_model.safetensors</c> holding <c>base_model.model.&lt;module path&gt;.lora_A.weight</c> (r, in) and
/// <c>….lora_B.weight</c> (out, r) for each adapted projection. The module path is the projection's name in the model
/// PEFT wraps: the Hugging Face name for a Hugging Face folder (gpt2's carry the <c>transformer.</c> prefix GenSharp's
/// network leaves out: <see cref="ModulePrefix"/>), GenSharp's parameter name for a GenSharp checkpoint.
/// </summary>
public sealed class PeftAdapter : IDisposable
{
    /// <summary>The adapter's config file.</summary>
    public const string ConfigFile = "adapter_config.json";
    /// <summary>The adapter's tensors.</summary>
    public const string WeightsFile = "adapter_model.safetensors";
    const string Root = "base_model.model.";

    readonly Dictionary<string, (Tensor A, Tensor B)> _tensors;

    PeftAdapter(string path, LoraConfig config, string? baseModel, Dictionary<string, (Tensor, Tensor)> tensors)
    {
        Path = path;
        Config = config;
        BaseModel = baseModel;
        _tensors = tensors;
    }

    /// <summary>The adapter folder.</summary>
    public string Path { get; }
    /// <summary>r, α, dropout and targets from <c>adapter_config.json</c>.</summary>
    public LoraConfig Config { get; }
    /// <summary><c>base_model_name_or_path</c>, or null.</summary>
    public string? BaseModel { get; }
    /// <summary>Module paths (as in the file, without <c>base_model.model.</c>) of the adapted projections.</summary>
    public IReadOnlyCollection<string> Modules => _tensors.Keys;

    /// <summary>True when <paramref name="path"/> is a folder with an <c>adapter_config.json</c>.</summary>
    public static bool IsAdapterFolder(string path) => Directory.Exists(path) && File.Exists(System.IO.Path.Combine(path, ConfigFile));

    /// <summary>
    /// What PEFT's module paths put before GenSharp's projection names: <c>transformer.</c> for a Hugging Face gpt2
    /// (GPT2LMHeadModel's blocks live in its transformer), nothing for llama-family folders and GenSharp checkpoints.
    /// </summary>
    public static string ModulePrefix(bool huggingFaceGpt2) => huggingFaceGpt2 ? "transformer." : "";

    /// <summary>
    /// Writes the adapters of <paramref name="network"/> to <paramref name="folder"/> in PEFT's format.
    /// <paramref name="fanInFanOut"/> is PEFT's flag for Conv1D bases (Hugging Face gpt2); the tensors are the same either way.
    /// </summary>
    public static void Save(string folder, DecoderNetwork network, LoraConfig config, string baseModel, string modulePrefix, bool fanInFanOut = false)
    {
        var adapters = LoraAdapters.Find(network);
        if (adapters.Count == 0) throw new GenSharpException("the model has no adapters to save");
        Directory.CreateDirectory(folder);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, layer) in adapters)
        {
            tensors[$"{Root}{modulePrefix}{name}.lora_A.weight"] = layer.A;
            tensors[$"{Root}{modulePrefix}{name}.lora_B.weight"] = layer.B;
        }
        Safetensors.Save(System.IO.Path.Combine(folder, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(System.IO.Path.Combine(folder, ConfigFile), ConfigJson(config, baseModel, fanInFanOut).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>PEFT's LoraConfig fields as it writes them (those GenSharp has no use for at their defaults).</summary>
    internal static JsonObject ConfigJson(LoraConfig config, string baseModel, bool fanInFanOut) => new()
    {
        ["peft_type"] = "LORA",
        ["task_type"] = "CAUSAL_LM",
        ["base_model_name_or_path"] = baseModel,
        ["r"] = config.Rank,
        ["lora_alpha"] = config.Alpha,
        ["lora_dropout"] = config.Dropout,
        ["target_modules"] = new JsonArray(config.Targets.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        ["bias"] = "none",
        ["fan_in_fan_out"] = fanInFanOut,
        ["use_rslora"] = config.UseRsLora,
        ["use_dora"] = false,
        ["init_lora_weights"] = true,
        ["inference_mode"] = true,
        ["modules_to_save"] = null,
        ["layers_to_transform"] = null,
        ["layers_pattern"] = null,
        ["rank_pattern"] = new JsonObject(),
        ["alpha_pattern"] = new JsonObject(),
        ["revision"] = null,
    };

    /// <summary>Reads an adapter folder. One-line errors for what GenSharp cannot apply (DoRA, trained biases, modules_to_save, …).</summary>
    public static PeftAdapter Load(string folder)
    {
        var configPath = System.IO.Path.Combine(folder, ConfigFile);
        if (!File.Exists(configPath)) throw new GenSharpException($"{folder} has no {ConfigFile}; is it a PEFT adapter folder?");
        var j = HfTokenizer.ReadJson(configPath);
        string Fail(string what) => throw new GenSharpException($"{configPath}: {what}");
        var type = j["peft_type"]?.GetValue<string>();
        if (type != "LORA") Fail($"peft_type is {type ?? "missing"}; GenSharp reads LORA adapters");
        if (j["use_dora"]?.GetValue<bool>() == true) Fail("use_dora is true; GenSharp applies plain LoRA, not DoRA");
        if (j["bias"]?.GetValue<string>() is { } bias && bias != "none") Fail($"bias is \"{bias}\"; GenSharp applies adapters without trained biases (\"none\")");
        if (j["modules_to_save"] is JsonArray { Count: > 0 }) Fail("modules_to_save lists fully trained modules; GenSharp applies only the low-rank adapters");
        if (j["alpha_pattern"] is JsonObject { Count: > 0 }) Fail("alpha_pattern is set; GenSharp applies one lora_alpha to every module");
        int r = j["r"]?.GetValue<int>() ?? throw new GenSharpException($"{configPath}: no r");
        double alpha = j["lora_alpha"]?.GetValue<double>() ?? r;
        double dropout = j["lora_dropout"]?.GetValue<double>() ?? 0;
        var targets = j["target_modules"] switch
        {
            JsonArray list => list.Select(n => n!.GetValue<string>()).ToArray(),
            JsonValue v => new[] { v.GetValue<string>() },                                     // a regular expression
            _ => Array.Empty<string>(),
        };
        var config = new LoraConfig(r, alpha, dropout, targets, j["use_rslora"]?.GetValue<bool>() == true);
        if (r < 1) Fail($"r is {r}; it must be ≥ 1");

        var weightsPath = System.IO.Path.Combine(folder, WeightsFile);
        if (!File.Exists(weightsPath))
            throw new GenSharpException($"{folder} has no {WeightsFile}" +
                (File.Exists(System.IO.Path.Combine(folder, "adapter_model.bin")) ? " (adapter_model.bin is a pickle, which GenSharp does not read: save the adapter with safe_serialization)" : ""));
        var tensors = new Dictionary<string, (Tensor, Tensor)>(StringComparer.Ordinal);
        using (var st = Safetensors.Load(weightsPath))
        {
            var a = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var b = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (key, tensor) in st.Tensors)
            {
                var name = key.StartsWith(Root, StringComparison.Ordinal) ? key[Root.Length..] : key;
                name = name.Replace(".default.", ".", StringComparison.Ordinal);            // a state dict taken with the adapter's name
                if (name.EndsWith(".lora_A.weight", StringComparison.Ordinal)) a[name[..^".lora_A.weight".Length]] = tensor.to(ScalarType.Float32).clone();
                else if (name.EndsWith(".lora_B.weight", StringComparison.Ordinal)) b[name[..^".lora_B.weight".Length]] = tensor.to(ScalarType.Float32).clone();
                else throw new GenSharpException($"{weightsPath}: {key} is no lora_A/lora_B weight; GenSharp applies LoRA adapters of linear layers only");
            }
            foreach (var (module, tA) in a)
            {
                if (!b.TryGetValue(module, out var tB)) throw new GenSharpException($"{weightsPath}: {module} has lora_A but no lora_B");
                if (tA.dim() != 2 || tB.dim() != 2 || tA.shape[0] != tB.shape[1])
                    throw new GenSharpException($"{weightsPath}: {module}: lora_A [{string.Join(", ", tA.shape)}] and lora_B [{string.Join(", ", tB.shape)}] are not (r, in) and (out, r)");
                tensors[module] = (tA, tB);
            }
            if (b.Keys.FirstOrDefault(k => !a.ContainsKey(k)) is { } orphan) throw new GenSharpException($"{weightsPath}: {orphan} has lora_B but no lora_A");
        }
        if (tensors.Count == 0) throw new GenSharpException($"{weightsPath} holds no adapter tensors");
        return new PeftAdapter(folder, config, j["base_model_name_or_path"]?.GetValue<string>(), tensors);
    }

    /// <summary>
    /// Wraps the projections the adapter names in <see cref="LoraLinear"/>s holding its A and B (scaled by α/r of each
    /// one's rank), the rest frozen as they are. <paramref name="modulePrefix"/> is <see cref="ModulePrefix"/> of the base.
    /// </summary>
    /// <exception cref="GenSharpException">A module is not in the model, or its widths differ (an adapter for another base).</exception>
    public void ApplyTo(DecoderNetwork network, string modulePrefix)
    {
        var projections = network.NamedProjections().ToDictionary(p => p.Name, p => p.Projection, StringComparer.Ordinal);
        var byProjection = new Dictionary<string, (Tensor A, Tensor B)>(StringComparer.Ordinal);
        foreach (var (module, ab) in _tensors)
        {
            var name = module.StartsWith(modulePrefix, StringComparison.Ordinal) ? module[modulePrefix.Length..] : module;
            if (!projections.TryGetValue(name, out var projection))
                throw new GenSharpException($"{Path}: the adapter has {module}, which the model has no projection for; it was trained for another base model (the model's projections look like {projections.Keys.FirstOrDefault()})");
            var (inWidth, outWidth) = LoraLinear.Widths(projection);
            if (ab.A.shape[1] != inWidth || ab.B.shape[0] != outWidth)
                throw new GenSharpException($"{Path}: {module} maps {ab.A.shape[1]} → {ab.B.shape[0]} features but the model's projection maps {inWidth} → {outWidth}; the adapter was trained for another base model");
            byProjection[name] = ab;
        }
        LoraAdapters.Freeze(network);
        network.ReplaceProjections((name, projection) =>
        {
            if (!byProjection.TryGetValue(name, out var ab)) return null;
            var (inWidth, outWidth) = LoraLinear.Widths(projection);
            int rank = (int)ab.A.shape[0];
            var layer = new LoraLinear(projection, inWidth, outWidth, rank, Config.ScalingFor(rank), Config.Dropout);
            using (torch.no_grad())
            {
                layer.A.copy_(ab.A);
                layer.B.copy_(ab.B);
            }
            return layer;
        });
    }

    /// <summary>
    /// The base model folder <c>base_model_name_or_path</c> names: as given (absolute, or relative to the working folder),
    /// else relative to the adapter folder, else to the folder holding it (adapters served beside their base). Null when
    /// none exists (a Hub id such as HuggingFaceTB/SmolLM2-135M that was never downloaded here).
    /// </summary>
    public string? ResolveBase()
    {
        if (string.IsNullOrWhiteSpace(BaseModel)) return null;
        var full = System.IO.Path.GetFullPath(Path);
        foreach (var candidate in new[]
                 {
                     BaseModel,
                     System.IO.Path.Combine(full, BaseModel),
                     System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full.TrimEnd(System.IO.Path.DirectorySeparatorChar)) ?? full, BaseModel),
                 })
            if (Directory.Exists(candidate) && !System.IO.Path.GetFullPath(candidate).TrimEnd('/').Equals(full.TrimEnd('/'), StringComparison.Ordinal))
                return System.IO.Path.GetFullPath(candidate);
        return null;
    }

    public void Dispose()
    {
        foreach (var (a, b) in _tensors.Values) { a.Dispose(); b.Dispose(); }
        _tensors.Clear();
    }
}
