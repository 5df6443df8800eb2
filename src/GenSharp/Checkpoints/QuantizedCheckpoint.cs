using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Models;
using GenSharp.Models.Gpt;
using GenSharp.Models.Pretrained;
using GenSharp.Models.Quantization;
using GenSharp.Text;

namespace GenSharp.Checkpoints;

/// <summary>What <see cref="QuantizedCheckpoint.Write"/> did.</summary>
/// <param name="Spec">The quantization.</param>
/// <param name="Layers">Layers quantized (projections, and the head).</param>
/// <param name="SourceBytes">Bytes of the source model's float32 weights.</param>
/// <param name="WrittenBytes">Bytes of the written model.safetensors.</param>
public sealed record QuantizeReport(QuantizationSpec Spec, int Layers, long SourceBytes, long WrittenBytes);

/// <summary>
/// A quantized text model folder: the source's folder (a GenSharp gpt checkpoint or a Hugging Face model folder) with
/// <c>config.json</c> extended by <c>quantization_config</c> (<see cref="QuantizationSpec"/>), one <c>model.safetensors</c>
/// holding the quantized layers under <see cref="QuantizedDecoder"/>'s names and every other tensor under the network's own
/// parameter names in float32, and the tokenizer files copied. <see cref="Checkpoint.LoadTextModel"/> loads it like the source.
/// </summary>
public static class QuantizedCheckpoint
{
    // Files of a Hugging Face folder that describe the tokenizer or generation, copied beside the quantized weights.
    static readonly string[] HfSideFiles =
    {
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "added_tokens.json",
        "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json",
    };

    /// <summary>Quantizes the text model at <paramref name="source"/> and writes the quantized folder <paramref name="outDir"/> whole or not at all.</summary>
    /// <exception cref="GenSharpException">The source is no text model or is quantized already, the output folder holds files, or a layer's width does not suit the spec.</exception>
    public static QuantizeReport Write(string source, string outDir, QuantizationSpec spec)
    {
        var target = AtomicFile.CheckPath(outDir, "out");
        if (File.Exists(target) || (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()))
            throw new ParameterException("out", $"{outDir} already exists and is not empty; choose a new folder");
        var (network, owner, config, files, describe) = Open(source);
        using (owner)
        {
            if (System.IO.Path.GetFullPath(describe).TrimEnd('/') == target.TrimEnd('/'))
                throw new ParameterException("out", "is the source folder; choose a new folder");
            long sourceBytes = network.parameters().Sum(p => p.numel() * p.element_size());
            var quantized = QuantizedDecoder.Quantize(network, spec);
            try
            {
                var tensors = QuantizedDecoder.OtherTensors(network);
                foreach (var (name, t) in quantized) tensors.Add(name, t);
                config[QuantizationSpec.ConfigKey] = spec.ToJson();
                CheckpointFolder.Save(target, tmp =>
                {
                    AtomicFile.WriteAllText(System.IO.Path.Combine(tmp, CheckpointFolder.ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                    Safetensors.Save(System.IO.Path.Combine(tmp, CheckpointFolder.ModelFile), tensors,
                        new Dictionary<string, string> { ["format"] = "pt", ["quantization"] = spec.ToJson().ToJsonString() });
                    foreach (var file in files) File.Copy(file, System.IO.Path.Combine(tmp, System.IO.Path.GetFileName(file)));
                });
                int layers = quantized.Keys.Count(k => k.EndsWith(".qweight", StringComparison.Ordinal));
                return new QuantizeReport(spec, layers, sourceBytes, new FileInfo(System.IO.Path.Combine(target, CheckpointFolder.ModelFile)).Length);
            }
            finally
            {
                foreach (var t in quantized.Values) t.Dispose();
            }
        }
    }

    /// <summary>The quantization of the model folder at <paramref name="path"/> (a GenSharp checkpoint, run folder or Hugging Face folder), or null.</summary>
    public static QuantizationSpec? SpecOf(string path)
    {
        string dir = HfModelFolder.IsHfFolder(path) ? path : CheckpointFolder.Exists(path) ? CheckpointFolder.Resolve(path) : path;
        var file = System.IO.Path.Combine(dir, CheckpointFolder.ConfigFile);
        if (!File.Exists(file)) return null;
        try { return JsonNode.Parse(File.ReadAllText(file)) is JsonObject j ? QuantizationSpec.Read(j, file) : null; }
        catch (JsonException) { return null; }
    }

    /// <summary>
    /// Fills a freshly built <paramref name="network"/> from the quantized <c>model.safetensors</c> of <paramref name="folder"/>:
    /// its projections (and head) become quantized layers, the other parameters are copied.
    /// </summary>
    /// <exception cref="GenSharpException">The device is not the CPU, or the file does not match the network.</exception>
    public static void Load(DecoderNetwork network, QuantizationSpec spec, string folder, Device device)
    {
        CheckDevice(spec, folder, device);
        var file = System.IO.Path.Combine(folder, CheckpointFolder.ModelFile);
        if (!File.Exists(file)) throw new GenSharpException($"{folder} has no {CheckpointFolder.ModelFile}; the quantized model is incomplete");
        using (Runtime.TorchRuntime.MapLargeAllocations())            // the packed layers and the temporaries between them
        using (var reader = SafetensorsReader.Open(file))
        {
            var used = QuantizedDecoder.Load(network, spec, reader);
            var own = QuantizedDecoder.OtherTensors(network);
            var emptied = network.state_dict().Keys.Where(name => !own.ContainsKey(name)).ToList();   // the token embedding's (0, C) stand-in
            ModuleState.Load(network, reader, obsolete: used, leave: emptied);
        }
        DeferredWeights.Check(network, file);
        Runtime.TorchRuntime.ReturnFreeMemory();   // the float layers just replaced and the file's tensors
    }

    /// <summary>Throws unless <paramref name="device"/> is the CPU, where libtorch's low-bit kernels run.</summary>
    public static void CheckDevice(QuantizationSpec spec, string folder, Device device)
    {
        if (device.type != DeviceType.CPU)
            throw new GenSharpException($"{folder} holds {spec.Describe()} weights, which run on the CPU (libtorch's low-bit kernels are CPU kernels); load it on the CPU");
    }

    /// <summary>The source's float network, what disposing releases, its config.json to extend, the files to copy, and its folder.</summary>
    static (DecoderNetwork Network, IDisposable Owner, JsonObject Config, IReadOnlyList<string> Files, string Folder) Open(string source)
    {
        if (HfModelFolder.IsHfFolder(source))
        {
            var configFile = System.IO.Path.Combine(source, CheckpointFolder.ConfigFile);
            var config = HfTokenizer.ReadJson(configFile);
            RefuseQuantized(config, source);
            var (model, _) = HfModelFolder.Load(source, torch.CPU);
            var files = HfSideFiles.Select(f => System.IO.Path.Combine(source, f)).Where(File.Exists).ToList();
            return (model.Network, model, config, files, source);
        }
        var checkpoint = Checkpoint.OpenFolder(source);
        RefuseQuantized(checkpoint.Manifest, source);
        if (checkpoint.Family is not ITextFamily)
            throw new GenSharpException($"{checkpoint.Path} holds a {checkpoint.Family.Name} checkpoint; quantization applies to text models (gpt, or a Hugging Face llama-family or gpt2 folder)");
        var loaded = checkpoint.Load(torch.CPU);
        if (loaded.Model.Model is not DecoderNetwork network)
        {
            loaded.Dispose();
            throw new GenSharpException($"{checkpoint.Path} holds a {checkpoint.Family.Name} model, which has no decoder projections to quantize");
        }
        var manifest = (JsonObject)checkpoint.Manifest.DeepClone();
        var tokenizer = System.IO.Path.Combine(checkpoint.Path, Tokenizers.FileName);
        return (network, loaded, manifest, File.Exists(tokenizer) ? new[] { tokenizer } : Array.Empty<string>(), checkpoint.Path);
    }

    static void RefuseQuantized(JsonObject config, string source)
    {
        if (config[QuantizationSpec.ConfigKey] is not null)
            throw new GenSharpException($"{source} is quantized already ({QuantizationSpec.ConfigKey} in its config.json); quantize the float model it was made from");
    }
}
