using GenSharp.Checkpoints;
using GenSharp.Models.Pretrained;
using GenSharp.Text;

namespace GenSharp.Models.StableDiffusion;

/// <summary>
/// Copies one component's safetensors weights (F32, F16 or BF16, cast to the module's dtype) into a module whose
/// parameter names are the file's keys. Older VAE files name the mid-block attention query/key/value/proj_attn
/// and store it as 1×1 convs; those are renamed to to_q/to_k/to_v/to_out.0 and squeezed.
/// </summary>
public static class DiffusersWeights
{
    /// <summary>The safetensors files of a component folder: the plain file, else the fp16 variant, else the shards of an index.</summary>
    public static IReadOnlyList<string> Files(string folder, string stem)
    {
        foreach (var name in new[] { $"{stem}.safetensors", $"{stem}.fp16.safetensors" })
            if (File.Exists(Path.Combine(folder, name))) return new[] { Path.Combine(folder, name) };
        var index = Path.Combine(folder, $"{stem}.safetensors.index.json");
        if (File.Exists(index))
        {
            var map = HfTokenizer.ReadJson(index)["weight_map"] as System.Text.Json.Nodes.JsonObject
                ?? throw new GenSharpException($"{index} has no weight_map object");
            return map.Select(kv => Path.Combine(folder, kv.Value!.GetValue<string>())).Distinct().ToList();
        }
        string hint = Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.bin").Any()
            ? " (.bin files are pickles, which GenSharp does not read: download the .safetensors files)" : "";
        throw new GenSharpException($"{folder} has no {stem}.safetensors{hint}");
    }

    /// <summary>Fills every parameter of <paramref name="module"/> from <paramref name="files"/>.</summary>
    /// <exception cref="GenSharpException">A parameter is missing, a tensor is unknown, a shape differs, or a dtype is not a float.</exception>
    public static void Load(nn.Module module, IReadOnlyList<string> files, string what)
    {
        var targets = module.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var filled = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var file in files)
        {
            using var st = Safetensors.Load(file);
            using var _ = torch.no_grad();
            foreach (var (key, tensor) in st.Tensors)
            {
                var name = Rename(key);
                // transformers ≥ 5 saves CLIPTextModel without the "text_model." prefix that released SD folders have.
                if (!targets.ContainsKey(name) && targets.ContainsKey("text_model." + name)) name = "text_model." + name;
                if (!targets.TryGetValue(name, out var own))
                {
                    if (!key.EndsWith("position_ids")) problems.Add($"unexpected {key}");   // a buffer some text encoders save
                    continue;
                }
                if (tensor.dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64))
                { problems.Add($"{key} has dtype {tensor.dtype} (F32, F16, BF16 are read)"); continue; }
                using var source = tensor.dim() == 4 && own.dim() == 2 && tensor.shape[2] == 1 && tensor.shape[3] == 1 ? tensor.flatten(1) : tensor.alias();
                if (!source.shape.SequenceEqual(own.shape))
                { problems.Add($"{key}: file [{string.Join(", ", tensor.shape)}] vs model [{string.Join(", ", own.shape)}]"); continue; }
                own.copy_(source);
                filled.Add(name);
            }
        }
        var missing = targets.Keys.Where(k => !filled.Contains(k)).ToList();
        if (missing.Count > 0) problems.Insert(0, $"missing [{string.Join(", ", missing.Take(6))}{(missing.Count > 6 ? $", … {missing.Count - 6} more" : "")}]");
        if (problems.Count > 0)
            throw new GenSharpException($"the {what} weights do not match its config.json: {string.Join("; ", problems.Take(6))}{(problems.Count > 6 ? "; …" : "")}");
    }

    static string Rename(string key)
    {
        if (!key.Contains("mid_block.attentions.")) return key;
        return key.Replace(".query.", ".to_q.").Replace(".key.", ".to_k.").Replace(".value.", ".to_v.").Replace(".proj_attn.", ".to_out.0.");
    }
}
