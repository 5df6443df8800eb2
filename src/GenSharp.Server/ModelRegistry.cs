using GenSharp.Pipelines;
using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Models.Lora;
using GenSharp.Models.Pretrained;
using GenSharp.Models.StableDiffusion;
using TorchSharp;

namespace GenSharp.Server;

/// <summary>
/// The models of a folder: every GenSharp checkpoint or run folder, every Hugging Face model folder, every Stable
/// Diffusion folder (diffusers layout, <c>model_index.json</c>) and every LoRA
/// adapter folder (PEFT format; its base merged at load) directly under it, named by its folder. Models load on first use and stay loaded within two limits: at most <see cref="MaxLoaded"/>
/// of them, and their <see cref="ModelFootprint"/>s (weights, plus a KV cache allowance for text models) summing to at
/// most <see cref="MemoryBudget"/> bytes. Beyond either the least recently used models are unloaded (each after its
/// running requests end); a model that alone exceeds the budget is refused with a 507. Thread-safe.
/// </summary>
public sealed class ModelRegistry : IDisposable
{
    readonly string _root;
    readonly torch.Device _device;
    readonly object _sync = new();
    readonly LinkedList<Entry> _lru = new();                       // most recently used first
    readonly Dictionary<string, SemaphoreSlim> _loading = new(StringComparer.Ordinal);
    readonly Dictionary<string, ModelFootprint> _measured = new(StringComparer.Ordinal);   // footprints of models loaded before

    sealed record Entry(ServedModel Model, ModelFootprint Footprint);

    public ModelRegistry(string root, torch.Device device, int maxLoaded) : this(root, device, maxLoaded, long.MaxValue) { }

    /// <param name="root">The models folder.</param>
    /// <param name="device">Where models run.</param>
    /// <param name="maxLoaded">Most models kept loaded.</param>
    /// <param name="memoryBudget">Most bytes the loaded models' footprints may sum to.</param>
    public ModelRegistry(string root, torch.Device device, int maxLoaded, long memoryBudget)
    {
        _root = Path.GetFullPath(root);
        _device = device;
        MaxLoaded = maxLoaded;
        MemoryBudget = memoryBudget;
    }

    /// <summary>Most sequences a text model decodes at once (its continuous batch); more wait for a row.</summary>
    public int MaxBatchRows { get; init; } = 16;

    /// <summary>Told after every decode step of a loaded text model, with the number of sequences it fed (for metrics).</summary>
    public Action<int>? OnDecodeStep { get; set; }

    /// <summary>The loaded models, most recently used first.</summary>
    internal IReadOnlyList<ServedModel> Loaded { get { lock (_sync) return _lru.Select(e => e.Model).ToArray(); } }

    /// <summary>Most models kept loaded.</summary>
    public int MaxLoaded { get; }

    /// <summary>Most bytes the footprints of the loaded models may sum to.</summary>
    public long MemoryBudget { get; }

    /// <summary>The summed footprints of the loaded models, in bytes.</summary>
    public long LoadedBytes { get { lock (_sync) return _lru.Sum(e => e.Footprint.TotalBytes); } }

    /// <summary>The footprint of a loaded model, or null when it is not loaded.</summary>
    public ModelFootprint? FootprintOf(string name)
    {
        lock (_sync) return _lru.FirstOrDefault(e => e.Model.Name == name)?.Footprint;
    }

    /// <summary>Names of the loaded models, most recently used first.</summary>
    public IReadOnlyList<string> LoadedNames { get { lock (_sync) return _lru.Select(e => e.Model.Name).ToArray(); } }

    /// <summary>The models in the folder: name and the folder's last write time.</summary>
    public IReadOnlyList<(string Name, DateTimeOffset Created)> List() =>
        Directory.EnumerateDirectories(_root)
            .Where(IsModelFolder)
            .Select(d => (Path.GetFileName(d), new DateTimeOffset(Directory.GetLastWriteTimeUtc(d), TimeSpan.Zero)))
            .OrderBy(m => m.Item1, StringComparer.Ordinal)
            .ToArray();

    // A LoRA adapter folder (PEFT format) is a model of its own: its base (named by base_model_name_or_path, e.g. a sibling
    // folder) with the adapter merged at load. Each adapter is a full copy of the base in memory: the continuous batcher
    // decodes one set of weights per model, so adapters do not share the base's tensors.
    static bool IsModelFolder(string dir) =>
        HfModelFolder.IsHfFolder(dir) || PeftAdapter.IsAdapterFolder(dir) || StableDiffusionPipeline.IsFolder(dir) || Checkpoint.Exists(dir);

    /// <summary>
    /// The folder of model <paramref name="name"/>; a 400 for a name that is not a plain folder name (it could escape the
    /// models folder), a 404 for one that is not a model there.
    /// </summary>
    public string Resolve(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name is "." or ".." || name.Contains("..") ||
            name.IndexOfAny(new[] { '/', '\\', '\0', ':' }) >= 0 || name.Any(char.IsControl))
            throw ApiException.Invalid("model", $"'{name}' is not a model name: names are folder names, without separators or '..'", "invalid_model_name");
        var dir = Path.GetFullPath(Path.Combine(_root, name));
        if (Path.GetDirectoryName(dir) != _root.TrimEnd(Path.DirectorySeparatorChar) || !Directory.Exists(dir) || !IsModelFolder(dir))
            throw new ApiException(404, $"the model '{name}' does not exist; GET /v1/models lists the models", "model", "model_not_found");
        return dir;
    }

    /// <summary>
    /// The model named <paramref name="name"/>, loaded if needed and leased: dispose the lease when the request ends.
    /// </summary>
    public async Task<Lease> AcquireAsync(string name, CancellationToken cancel)
    {
        var dir = Resolve(name);
        while (true)
        {
            var found = Find(name);
            if (found is not null) return found;
            SemaphoreSlim gate;
            lock (_sync)
            {
                if (!_loading.TryGetValue(name, out gate!)) _loading[name] = gate = new SemaphoreSlim(1, 1);
            }
            await gate.WaitAsync(cancel);
            try
            {
                if (Find(name) is { } again) return again;
                // A model measured before: refuse it or make room before reading its weights, not after.
                ModelFootprint? known;
                lock (_sync) known = _measured.GetValueOrDefault(name);
                if (known is not null)
                {
                    CheckFits(name, known);
                    EvictFor(known.TotalBytes, keep: null);
                }
                // Loading reads weights and builds modules: off the request thread.
                var (model, footprint) = await Task.Run(() => Load(name, dir), cancel);
                lock (_sync) _measured[name] = footprint;
                try { CheckFits(name, footprint); }
                catch { model.Evict(); throw; }
                lock (_sync) _lru.AddFirst(new Entry(model, footprint));
                EvictFor(0, keep: model);
            }
            finally
            {
                gate.Release();
            }
        }
    }

    /// <summary>A 507 naming the budget option when the model alone is larger than the whole budget.</summary>
    void CheckFits(string name, ModelFootprint footprint)
    {
        if (footprint.TotalBytes <= MemoryBudget) return;
        string kv = footprint.KvCacheBytes > 0 ? $" + a KV cache allowance of {ModelFootprint.Describe(footprint.KvCacheBytes)}" : "";
        throw new ApiException(507,
            $"model '{name}' needs about {ModelFootprint.Describe(footprint.TotalBytes)} (weights {ModelFootprint.Describe(footprint.WeightBytes)}{kv}), " +
            $"more than the server's whole memory budget of {ModelFootprint.Describe(MemoryBudget)}; the operator can raise it with gensharp serve --memory-budget",
            "model", "model_too_large");
    }

    /// <summary>
    /// Unloads least recently used models (never <paramref name="keep"/>) until <paramref name="incoming"/> more bytes fit
    /// the budget and, when a model is incoming, one more fits the count.
    /// </summary>
    void EvictFor(long incoming, ServedModel? keep)
    {
        var evicted = new List<ServedModel>();
        lock (_sync)
        {
            int slots = keep is null ? 1 : 0;
            long bytes = _lru.Sum(e => e.Footprint.TotalBytes);
            var node = _lru.Last;
            while (node is not null && (_lru.Count + slots > MaxLoaded || bytes + incoming > MemoryBudget))
            {
                var before = node.Previous;
                if (node.Value.Model != keep)
                {
                    bytes -= node.Value.Footprint.TotalBytes;
                    evicted.Add(node.Value.Model);
                    _lru.Remove(node);
                }
                node = before;
            }
        }
        foreach (var e in evicted) e.Evict();
    }

    /// <summary>
    /// Text when the folder is a Hugging Face folder or a text family's checkpoint, else an image sampler; with its
    /// footprint (weights of its modules; for text, the KV cache allowance of <see cref="ModelFootprint"/>).
    /// </summary>
    (ServedModel, ModelFootprint) Load(string name, string dir)
    {
        if (StableDiffusionPipeline.IsFolder(dir))
        {
            StableDiffusionPipeline sd;
            try { sd = StableDiffusionPipeline.Load(dir, _device); }
            catch (GenSharpException e) { throw new ApiException(400, $"model '{name}' is a Stable Diffusion folder that cannot be loaded: {e.Message}", "model", "unsupported_model"); }
            long bytes = new torch.nn.Module[] { sd.TextEncoder, sd.Unet, sd.Vae }.Sum(ModelFootprint.ModuleBytes);
            return (new ServedModel(name, sd), new ModelFootprint(bytes, 0));
        }
        if (HfModelFolder.IsHfFolder(dir) || PeftAdapter.IsAdapterFolder(dir) || Checkpoint.Open(dir).Family is ITextFamily)
        {
            var text = Checkpoint.LoadTextModel(dir, _device);
            try
            {
                var footprint = new ModelFootprint(text.Network is { } net ? ModelFootprint.ModuleBytes(net) : 0,
                    ModelFootprint.KvCacheAllowance(text.KvCacheBytesPerToken, text.Model.ContextLength, MaxBatchRows));
                var served = new ServedModel(name, text, MaxBatchRows);
                served.Batcher.Decoded += rows => OnDecodeStep?.Invoke(rows);
                return (served, footprint);
            }
            catch { text.Dispose(); throw; }
        }
        var loaded = Checkpoint.LoadModel(dir, _device);
        if (loaded.Model is ISpeechModel speech)
        {
            LoadedModel? vocoder = null;
            try
            {
                if (SpeechVocoders.Resolve(dir, null) is { } vocoderDir) vocoder = SpeechVocoders.Load(vocoderDir, _device);
            }
            catch (GenSharpException e)
            {
                loaded.Dispose();
                throw new ApiException(400, $"model '{name}': its vocoder folder cannot be used: {e.Message}", "model", "invalid_model");
            }
            long bytes = ModelFootprint.ModuleBytes(loaded.Model.Model) + (vocoder is null ? 0 : ModelFootprint.ModuleBytes(vocoder.Model.Model));
            return (new ServedModel(name, loaded, speech, vocoder), new ModelFootprint(bytes, 0));
        }
        if (loaded.Model is not IImageSampler sampler)
        {
            loaded.Dispose();
            throw new ApiException(400, $"model '{name}' is a {loaded.Family.Name} checkpoint, which neither generates text, samples images nor speaks", "model", "unsupported_model");
        }
        // Image models count their weights: sampling's activations are transient and small next to them.
        return (new ServedModel(name, loaded, sampler), new ModelFootprint(ModelFootprint.ModuleBytes(loaded.Model.Model), 0));
    }

    /// <summary>"text", "image" or "speech" without loading the weights (reads the checkpoint's manifest); null when unreadable.</summary>
    public static string? KindOf(string dir)
    {
        if (HfModelFolder.IsHfFolder(dir) || PeftAdapter.IsAdapterFolder(dir)) return "text";
        if (StableDiffusionPipeline.IsFolder(dir)) return "image";
        try { return Checkpoint.Open(dir).Family switch { ITextFamily => "text", ISpeechFamily => "speech", _ => "image" }; }
        catch (GenSharpException) { return null; }
    }

    Lease? Find(string name)
    {
        lock (_sync)
        {
            for (var node = _lru.First; node is not null; node = node.Next)
            {
                if (node.Value.Model.Name != name) continue;
                if (!node.Value.Model.TryLease()) return null;
                _lru.Remove(node);
                _lru.AddFirst(node);
                return new Lease(node.Value.Model);
            }
        }
        return null;
    }

    /// <summary>Unloads every model (after their running requests end).</summary>
    public void Dispose()
    {
        ServedModel[] all;
        lock (_sync)
        {
            all = _lru.Select(e => e.Model).ToArray();
            _lru.Clear();
        }
        foreach (var m in all) m.Evict();
    }

    /// <summary>A model in use by one request.</summary>
    public sealed class Lease : IDisposable
    {
        int _released;
        internal Lease(ServedModel model) => Model = model;
        /// <summary>The model.</summary>
        public ServedModel Model { get; }
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) Model.Release();
        }
    }
}
