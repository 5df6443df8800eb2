using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Models.StableDiffusion;
using GenSharp.Sampling;
using GenSharp.Text.Chat;

namespace GenSharp.Server;

/// <summary>
/// A loaded model: a text model with its continuous batcher and chat template, or an image model (<see cref="Image"/>, or
/// <see cref="StableDiffusion"/> for a diffusers folder).
/// Text requests share the model's <see cref="Batcher"/> (each joins the running batch); image requests take turns
/// through <see cref="Gate"/>.
/// </summary>
public sealed class ServedModel
{
    int _leases;
    bool _evicted, _disposed;
    readonly object _sync = new();

    readonly LoadedTextModel? _text;
    readonly ContinuousBatcher? _batcher;
    readonly ChatTemplateSelection? _chat;
    readonly LoadedModel? _imageCheckpoint;

    internal ServedModel(string name, LoadedTextModel loaded, int maxBatchRows)
    {
        Name = name;
        _text = loaded;
        _chat = ChatTemplates.Select(null, loaded.Path);
        _batcher = new ContinuousBatcher(loaded.Model, loaded.Tokenizer, maxBatchRows);
        _batcher.Start();
    }

    internal ServedModel(string name, LoadedModel loaded, IImageSampler sampler)
    {
        Name = name;
        _imageCheckpoint = loaded;
        Image = sampler;
    }

    internal ServedModel(string name, StableDiffusionPipeline pipeline)
    {
        Name = name;
        StableDiffusion = pipeline;
    }

    internal ServedModel(string name, LoadedModel loaded, ISpeechModel speech, LoadedModel? vocoder)
    {
        Name = name;
        _imageCheckpoint = loaded;
        Speech = speech;
        _vocoder = vocoder;
    }

    readonly LoadedModel? _vocoder;

    /// <summary>The text-to-speech model of a speech checkpoint; null otherwise.</summary>
    public ISpeechModel? Speech { get; }
    /// <summary>The WaveNet vocoder in the speech checkpoint's <c>vocoder/</c> folder; null: Griffin-Lim.</summary>
    public IAudioModel? Vocoder => (IAudioModel?)_vocoder?.Model;

    /// <summary>The model's name (its folder's name).</summary>
    public string Name { get; }
    /// <summary>True for a text model (<see cref="Loaded"/>, <see cref="Batcher"/>, <see cref="Chat"/>); false for an image model.</summary>
    public bool IsText => _text is not null;
    /// <summary>The image sampler of a GenSharp image checkpoint; null for a text model or a Stable Diffusion folder.</summary>
    public IImageSampler? Image { get; }
    /// <summary>The pipeline of a Stable Diffusion folder; null otherwise.</summary>
    public StableDiffusionPipeline? StableDiffusion { get; }
    /// <summary>The model, its tokenizer and where it came from (text models).</summary>
    public LoadedTextModel Loaded => _text ?? throw NotText();
    /// <summary>The running batch every text request of the model joins (text models).</summary>
    public ContinuousBatcher Batcher => _batcher ?? throw NotText();
    /// <summary>Held while encoding with the model's tokenizer (it caches merges and is not thread-safe).</summary>
    public object TokenizerLock { get; } = new();
    /// <summary>The chat template chosen for the folder (its own when recognised, else a built-in; text models).</summary>
    public ChatTemplateSelection Chat => _chat ?? throw NotText();

    InvalidOperationException NotText() => new($"model '{Name}' is {(Speech is null ? "an image" : "a speech")} model");
    /// <summary>Held while a request samples images with the model.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Marks the model in use, so that unloading it waits for the request to end. False once unloaded.</summary>
    internal bool TryLease()
    {
        lock (_sync)
        {
            if (_evicted) return false;
            _leases++;
            return true;
        }
    }

    internal void Release()
    {
        lock (_sync)
        {
            _leases--;
            if (_evicted && _leases == 0) DisposeNow();
        }
    }

    /// <summary>Unloads the model now, or when its last request ends.</summary>
    internal void Evict()
    {
        lock (_sync)
        {
            _evicted = true;
            if (_leases == 0) DisposeNow();
        }
    }

    void DisposeNow()
    {
        if (_disposed) return;
        _disposed = true;
        _batcher?.Dispose();
        _text?.Dispose();
        _imageCheckpoint?.Dispose();
        _vocoder?.Dispose();
        StableDiffusion?.Dispose();
    }
}
