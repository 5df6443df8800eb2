using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Text;

namespace GenSharp.Models.Pretrained;

/// <summary>
/// Reads a Hugging Face model's weights (<c>model.safetensors</c>, or the shards listed in
/// <c>model.safetensors.index.json</c>'s weight_map) into the network of a <see cref="PretrainedLanguageModel"/>: F32, BF16 and F16
/// tensors are cast to the network's float32 as they are copied, one shard at a time.
/// </summary>
public static class HfWeights
{
    /// <summary>Single-file weights.</summary>
    public const string SingleFile = "model.safetensors";
    /// <summary>Index of sharded weights.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>The safetensors files of <paramref name="folder"/>, in order.</summary>
    public static IReadOnlyList<string> Files(string folder)
    {
        var single = Path.Combine(folder, SingleFile);
        if (File.Exists(single)) return new[] { single };
        var index = Path.Combine(folder, IndexFile);
        if (File.Exists(index))
        {
            var map = HfTokenizer.ReadJson(index)["weight_map"] as JsonObject
                ?? throw new GenSharpException($"{index} has no weight_map object");
            var files = map.Select(kv => kv.Value?.GetValue<string>() ?? throw new GenSharpException($"{index}: weight_map[\"{kv.Key}\"] is not a file name"))
                .Distinct().Select(f => Path.Combine(folder, f)).ToList();
            foreach (var f in files)
                if (!File.Exists(f)) throw new GenSharpException($"{f} (a shard listed in {IndexFile}) not found; download every shard");
            return files;
        }
        string hint = File.Exists(Path.Combine(folder, "pytorch_model.bin"))
            ? " (pytorch_model.bin is a pickle, which GenSharp does not read: download the model's .safetensors files)" : "";
        throw new GenSharpException($"{folder} has neither {SingleFile} nor {IndexFile}{hint}");
    }

    /// <summary>Fills every parameter of <paramref name="model"/>'s network from the folder's safetensors files (names mapped by <see cref="HfTensorNames"/>).</summary>
    /// <exception cref="GenSharpException">A parameter is missing, a tensor is unknown, a shape differs, or a dtype is not a float.</exception>
    public static void Load(PretrainedLanguageModel model, string folder)
    {
        // Parameters only: a network's own buffers (GPT's step counter) are no checkpoint tensors.
        var targets = model.Network.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var filled = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var file in Files(folder))
        {
            // A tensor at a time: the network plus one tensor in memory, never the network plus the file.
            using var reader = SafetensorsReader.Open(file);
            using var _ = torch.no_grad();
            foreach (var hfName in reader.Names)
            {
                if (HfTensorNames.Map(model.Config, hfName) is not { } map) continue;
                if (!targets.TryGetValue(map.Name, out var own)) { problems.Add($"unexpected {hfName}"); continue; }
                var dtype = reader.DType(hfName);
                if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
                { problems.Add($"{hfName} has dtype {dtype} (F32, BF16, F16 are read)"); continue; }
                var shape = reader.Shape(hfName);
                bool transpose = map.Transpose && shape.Length == 2;
                var expected = transpose ? new[] { shape[1], shape[0] } : shape;
                if (!expected.SequenceEqual(own.shape))
                { problems.Add($"{hfName}: file [{string.Join(", ", shape)}]{(map.Transpose ? " (transposed)" : "")} vs model [{string.Join(", ", own.shape)}]"); continue; }
                if (transpose)
                {
                    using var staged = reader.Read(hfName);
                    own.copy_(staged.t());
                }
                else
                    reader.ReadInto(hfName, own);                                     // casts to float32 and moves to the device
                filled.Add(map.Name);
            }
        }
        var missing = targets.Keys.Where(k => !filled.Contains(k)).ToList();
        if (missing.Count > 0) problems.Insert(0, $"missing [{string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? $", … {missing.Count - 8} more" : "")}]");
        if (problems.Count > 0)
            throw new GenSharpException($"the weights in {folder} do not match its config.json: {string.Join("; ", problems.Take(8))}{(problems.Count > 8 ? "; …" : "")}");
    }
}
