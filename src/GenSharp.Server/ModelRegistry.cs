using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Models.Pretrained;
using TorchSharp;

namespace GenSharp.Server;

/// <summary>
/// The models of a folder: every GenSharp checkpoint or run folder and every Hugging Face model folder directly under
/// it, named by its folder. Models load on first use and stay loaded, at most <see cref="MaxLoaded"/> of them; beyond
/// that the least recently used one is unloaded (after its running requests end). Thread-safe.
/// </summary>
public sealed class ModelRegistry : IDisposable
{
    readonly string _root;
    readonly torch.Device _device;
    readonly object _sync = new();
    readonly LinkedList<ServedModel> _lru = new();                 // most recently used first
    readonly Dictionary<string, SemaphoreSlim> _loading = new(StringComparer.Ordinal);

    public ModelRegistry(string root, torch.Device device, int maxLoaded)
    {
        _root = Path.GetFullPath(root);
        _device = device;
        MaxLoaded = maxLoaded;
    }

    /// <summary>Most sequences a text model decodes at once (its continuous batch); more wait for a row.</summary>
    public int MaxBatchRows { get; init; } = 16;

    /// <summary>Told after every decode step of a loaded text model, with the number of sequences it fed (for metrics).</summary>
    public Action<int>? OnDecodeStep { get; set; }

    /// <summary>The loaded models, most recently used first.</summary>
    internal IReadOnlyList<ServedModel> Loaded { get { lock (_sync) return _lru.ToArray(); } }

    /// <summary>Most models kept loaded.</summary>
    public int MaxLoaded { get; }

    /// <summary>Names of the loaded models, most recently used first.</summary>
    public IReadOnlyList<string> LoadedNames { get { lock (_sync) return _lru.Select(m => m.Name).ToArray(); } }

    /// <summary>The models in the folder: name and the folder's last write time.</summary>
    public IReadOnlyList<(string Name, DateTimeOffset Created)> List() =>
        Directory.EnumerateDirectories(_root)
            .Where(IsModelFolder)
            .Select(d => (Path.GetFileName(d), new DateTimeOffset(Directory.GetLastWriteTimeUtc(d), TimeSpan.Zero)))
            .OrderBy(m => m.Item1, StringComparer.Ordinal)
            .ToArray();

    static bool IsModelFolder(string dir) => HfModelFolder.IsHfFolder(dir) || Checkpoint.Exists(dir);

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
                // Loading reads weights and builds modules: off the request thread.
                var model = await Task.Run(() => Load(name, dir), cancel);
                var evicted = new List<ServedModel>();
                lock (_sync)
                {
                    _lru.AddFirst(model);
                    while (_lru.Count > MaxLoaded)
                    {
                        evicted.Add(_lru.Last!.Value);
                        _lru.RemoveLast();
                    }
                }
                foreach (var e in evicted) e.Evict();
            }
            finally
            {
                gate.Release();
            }
        }
    }

    /// <summary>Text when the folder is a Hugging Face folder or a text family's checkpoint, else an image sampler.</summary>
    ServedModel Load(string name, string dir)
    {
        if (HfModelFolder.IsHfFolder(dir) || Checkpoint.Open(dir).Family is ITextFamily)
        {
            var text = Checkpoint.LoadTextModel(dir, _device);
            try
            {
                var served = new ServedModel(name, text, MaxBatchRows);
                served.Batcher.Decoded += rows => OnDecodeStep?.Invoke(rows);
                return served;
            }
            catch { text.Dispose(); throw; }
        }
        var loaded = Checkpoint.LoadModel(dir, _device);
        if (loaded.Model is not IImageSampler sampler)
        {
            loaded.Dispose();
            throw new ApiException(400, $"model '{name}' is a {loaded.Family.Name} checkpoint, which neither generates text nor samples images", "model", "unsupported_model");
        }
        return new ServedModel(name, loaded, sampler);
    }

    /// <summary>"text" or "image" without loading the weights (reads the checkpoint's manifest); null when unreadable.</summary>
    public static string? KindOf(string dir)
    {
        if (HfModelFolder.IsHfFolder(dir)) return "text";
        try { return Checkpoint.Open(dir).Family is ITextFamily ? "text" : "image"; }
        catch (GenSharpException) { return null; }
    }

    Lease? Find(string name)
    {
        lock (_sync)
        {
            for (var node = _lru.First; node is not null; node = node.Next)
            {
                if (node.Value.Name != name) continue;
                if (!node.Value.TryLease()) return null;
                _lru.Remove(node);
                _lru.AddFirst(node);
                return new Lease(node.Value);
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
            all = _lru.ToArray();
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
