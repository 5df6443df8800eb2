using GenSharp.Models.Gpt;
using TorchSharp.Modules;

namespace GenSharp.Models.Quantization;

/// <summary>
/// Puts quantized layers in place of a decoder's projections (and its head) and reads or writes their saved tensors.
/// A quantized layer called NAME is saved as <c>NAME.qweight</c> (int8 (N, K), or uint8 (N, K/2) holding two int4 codes),
/// <c>NAME.scales</c> ((N) or (N, K/g)), for int4 <c>NAME.mins</c> (N, K/g), and <c>NAME.bias</c> when it has one
/// (<see cref="WeightQuantizer"/> defines the codes). The head is saved as <c>lm_head.*</c>, also when it is tied to the
/// token embedding: then the token lookups read the head's codes too (<see cref="QuantizedEmbedding"/>) and the float32
/// embedding is neither kept nor saved. (Folders written before that hold it; it is read and dropped.)
/// </summary>
public static class QuantizedDecoder
{
    /// <summary>The saved name of the head.</summary>
    public const string HeadName = "lm_head";

    /// <summary>Checks that every layer <paramref name="spec"/> would quantize has widths the kernels take; throws a one-line error naming the first that has not.</summary>
    public static void CheckShapes(DecoderNetwork network, QuantizationSpec spec)
    {
        foreach (var (name, weight) in Targets(network, spec))
        {
            long k = weight.shape[1];
            var layer = name == HeadName ? spec.ForHead : spec;
            if (layer.Bits == 4 && k % layer.GroupSize != 0)
                throw new ParameterException("group_size", $"is {spec.GroupSize}, which does not divide the input width {k} of {name}; choose one of {string.Join(", ", QuantizationSpec.GroupSizes.Where(g => k % g == 0).DefaultIfEmpty())} or quantize to 8 bits");
        }
    }

    /// <summary>
    /// Quantizes every projection (and the head when <paramref name="spec"/> says so) of <paramref name="network"/> in place:
    /// the dense layers are replaced and disposed. Returns the quantized layers' tensors by saved name, for writing; the caller owns them.
    /// </summary>
    public static Dictionary<string, Tensor> Quantize(DecoderNetwork network, QuantizationSpec spec)
    {
        CheckShapes(network, spec);
        var saved = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var replaced = new List<nn.Module>();
        network.ReplaceProjections((name, projection) =>
        {
            var dense = projection as Linear ?? throw new GenSharpException($"{name} is not a dense layer (already replaced); quantize the float model");
            var layer = QuantizeOne(name, dense.weight!, dense.bias, spec, saved);
            replaced.Add(dense);
            return layer;
        });
        if (spec.Head)
        {
            if (!network.TiedHead) replaced.Add(network.named_children().First(c => c.name == HeadName).module);
            network.ReplaceHead(QuantizeOne(HeadName, network.HeadWeight, null, spec.ForHead, saved));
            if (network.TiedHead) network.ReplaceTokenLookup(Lookup(saved));
        }
        foreach (var m in replaced) m.Dispose();
        return saved;
    }

    /// <summary>
    /// Replaces <paramref name="network"/>'s projections (and head) by quantized layers built from the tensors of
    /// <paramref name="file"/> (the saved names of <see cref="Quantize"/>), disposing the dense ones. The file is read one
    /// layer at a time and each layer's saved tensors are released once the layer is built (the kernels keep their own
    /// packed copies), so loading holds the packed model plus one layer's codes, not the packed model plus the whole file.
    /// Returns the names of the tensors it used.
    /// </summary>
    /// <exception cref="GenSharpException">A layer's tensors are missing or have other shapes than the network's layer.</exception>
    public static HashSet<string> Load(DecoderNetwork network, QuantizationSpec spec, Checkpoints.SafetensorsReader file)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var replaced = new List<nn.Module>();
        var all = network.NamedProjections().ToDictionary(p => p.Name, p => p.Projection);
        var ahead = new Dictionary<string, nn.Module<Tensor, Tensor>>(StringComparer.Ordinal);   // parts of a group built with its first
        network.ReplaceProjections((name, projection) =>
        {
            replaced.Add(projection);
            if (ahead.Remove(name, out var built)) return built;
            nn.Module<Tensor, Tensor> layer;
            if (spec.Bits == 8 && JoinByDefault && JoinedWith(name, all) is { } group)
            {
                var parts = BuildJoined(group.Select(g => (g, Widths(all[g], g))).ToList(), spec, file, used);
                for (int i = 1; i < group.Length; i++) ahead[group[i]] = parts[i];
                layer = parts[0];
            }
            else
            {
                var (n, k) = Widths(projection, name);
                layer = Build(name, n, k, spec, file, used);
            }
            Runtime.TorchRuntime.ReturnFreeMemory();   // packing's temporaries: left in the heap, they are not reused by the next layer's
            return layer;
        });
        if (spec.Head)
        {
            var weight = network.HeadWeight;
            if (!network.TiedHead) replaced.Add(network.named_children().First(c => c.name == HeadName).module);
            network.ReplaceHead(Build(HeadName, weight.shape[0], weight.shape[1], spec.ForHead, file, used));
            if (network.TiedHead)                                      // its codes serve the token lookups too
            {
                network.ReplaceTokenLookup(MappedLookup(file));
                used.Add(network.TokenEmbeddingName);                 // an older folder's float32 copy, not needed
            }
        }
        foreach (var m in replaced) m.Dispose();
        return used;
    }

    /// <summary>
    /// What <see cref="Quantize"/> saves and <see cref="Load"/> reads besides the quantized layers: the network's other
    /// tensors by name, without the token embedding's emptied matrix when the lookups read the head's codes.
    /// </summary>
    public static Dictionary<string, Tensor> OtherTensors(DecoderNetwork network)
    {
        var state = new Dictionary<string, Tensor>(network.state_dict(), StringComparer.Ordinal);
        if (network.TokenLookupReplaced) state.Remove(network.TokenEmbeddingName);
        return state;
    }

    /// <summary>Token lookups from copies of the tied head's codes (by saved name).</summary>
    static QuantizedEmbedding Lookup(IReadOnlyDictionary<string, Tensor> head) =>
        new(head[$"{HeadName}.qweight"], head[$"{HeadName}.scales"], head.GetValueOrDefault($"{HeadName}.mins"));

    /// <summary>
    /// Token lookups over the head's codes mapped from <paramref name="file"/> (a step reads a few rows, so the table's pages
    /// stay on disk until a token needs them) and its scales (and minimums) read from it; the head's tensors were checked
    /// when the head was built.
    /// </summary>
    static QuantizedEmbedding MappedLookup(Checkpoints.SafetensorsReader file)
    {
        using var scope = torch.NewDisposeScope();
        var codes = file.Map($"{HeadName}.qweight");
        var scales = file.Read($"{HeadName}.scales");
        var mins = file.Contains($"{HeadName}.mins") ? file.Read($"{HeadName}.mins") : null;
        return new QuantizedEmbedding(codes, scales, mins, adopt: true);          // kept as they are, detached from the scope
    }

    /// <summary>The (full name, weight) of every layer the spec quantizes.</summary>
    static IEnumerable<(string Name, Tensor Weight)> Targets(DecoderNetwork network, QuantizationSpec spec)
    {
        foreach (var (name, _, _, projection) in network.NamedProjections())
            yield return (name, (projection as Linear)?.weight ?? throw new GenSharpException($"{name} is not a dense layer (already replaced); quantize the float model"));
        if (spec.Head) yield return (HeadName, network.HeadWeight);
    }

    static (long N, long K) Widths(nn.Module<Tensor, Tensor> projection, string name) => projection switch
    {
        Linear dense => (dense.weight!.shape[0], dense.weight.shape[1]),
        _ => throw new GenSharpException($"{name} is not a dense layer; a quantized model is loaded into a freshly built network"),
    };

    static nn.Module<Tensor, Tensor> QuantizeOne(string name, Tensor weight, Tensor? bias, QuantizationSpec spec, Dictionary<string, Tensor> saved)
    {
        using var _ = torch.no_grad();
        var layer = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (spec.Bits == 8)
        {
            var (q, s) = WeightQuantizer.QuantizeInt8(weight);
            (layer["qweight"], layer["scales"]) = (q, s);
        }
        else
        {
            var (q, s, m) = WeightQuantizer.QuantizeInt4(weight, spec.GroupSize);
            (layer["qweight"], layer["scales"], layer["mins"]) = (q, s, m);
        }
        if (bias is not null) layer["bias"] = bias.detach().cpu().to(ScalarType.Float32).clone();
        foreach (var (part, t) in layer) saved[$"{name}.{part}"] = t.DetachFromDisposeScope();
        return Create(layer, spec);
    }

    /// <summary>Environment variable that, set to 0, loads int8 models without joining layers (to compare the two).</summary>
    public const string JoinVariable = "GENSHARP_INT8_JOIN";

    /// <summary>
    /// Whether <see cref="Load"/> joins an int8 block's q, k and v, and its gate and up, into one packed matrix each
    /// (<see cref="Int8Linear.Join"/>; the environment's default). SmolLM2-135M's 30 blocks' products on one thread:
    /// 5.3 → 4.7 ms, and the decoding step's three FBGEMM calls fewer per block (docs/benchmarks.md).
    /// </summary>
    public static bool JoinByDefault { get; } = Environment.GetEnvironmentVariable(JoinVariable) != "0";

    /// <summary>The projections that read the same input as <paramref name="name"/> and follow it (q, k, v; gate, up), with it; or null.</summary>
    static string[]? JoinedWith(string name, IReadOnlyDictionary<string, nn.Module<Tensor, Tensor>> all)
    {
        int dot = name.LastIndexOf('.');
        var (prefix, local) = (name[..(dot + 1)], name[(dot + 1)..]);
        string[]? group = local switch
        {
            "q_proj" => new[] { "q_proj", "k_proj", "v_proj" },
            "gate_proj" => new[] { "gate_proj", "up_proj" },
            _ => null,
        };
        if (group is null) return null;
        var names = group.Select(g => prefix + g).ToArray();
        return names.All(all.ContainsKey) ? names : null;
    }

    /// <summary>
    /// The int8 layers <paramref name="group"/> from <paramref name="file"/> as the parts of one joined layer
    /// (<see cref="Int8Linear.Join"/>), their saved tensors released once it is built.
    /// </summary>
    static nn.Module<Tensor, Tensor>[] BuildJoined(IReadOnlyList<(string Name, (long N, long K) Widths)> group, QuantizationSpec spec, Checkpoints.SafetensorsReader file, HashSet<string> used)
    {
        using var scope = torch.NewDisposeScope();
        var layers = group.Select(g => Read(g.Name, g.Widths.N, g.Widths.K, spec, file, used)).ToList();
        if (layers.Any(l => l.ContainsKey("bias") != layers[0].ContainsKey("bias")))
            return layers.Select(l => Create(l, spec, consumeCodes: true)).ToArray();   // some with a bias, some without: each on its own
        return Int8Linear.Join(layers.Select(l => (l["qweight"], l["scales"], l.GetValueOrDefault("bias"))).ToList());
    }

    /// <summary>The layer <paramref name="name"/> from <paramref name="file"/>, whose saved tensors are released once it is built.</summary>
    static nn.Module<Tensor, Tensor> Build(string name, long n, long k, QuantizationSpec spec, Checkpoints.SafetensorsReader file, HashSet<string> used)
    {
        using var scope = torch.NewDisposeScope();                     // the saved tensors: the layer keeps its own copies
        return Create(Read(name, n, k, spec, file, used), spec, consumeCodes: true);   // the codes read here are not used again
    }

    /// <summary>The saved tensors of layer <paramref name="name"/> (checked against its widths), in the caller's dispose scope.</summary>
    static Dictionary<string, Tensor> Read(string name, long n, long k, QuantizationSpec spec, Checkpoints.SafetensorsReader file, HashSet<string> used)
    {
        var expected = spec.Bits == 8
            ? new (string Part, ScalarType Type, long[] Shape)[] { ("qweight", ScalarType.Int8, new[] { n, k }), ("scales", ScalarType.Float32, new[] { n }) }
            : new (string, ScalarType, long[])[] { ("qweight", ScalarType.Byte, new[] { n, k / 2 }), ("scales", ScalarType.Float32, new[] { n, k / spec.GroupSize }), ("mins", ScalarType.Float32, new[] { n, k / spec.GroupSize }) };
        foreach (var (part, type, shape) in expected)                  // every part checked from the header before any is read
        {
            string key = $"{name}.{part}";
            if (!file.Contains(key))
                throw new GenSharpException($"{file.Path} has no {key}; the quantized model is incomplete");
            if (file.DType(key) != type || !file.Shape(key).SequenceEqual(shape))
                throw new GenSharpException($"{file.Path}: {key} is {file.DType(key)} [{string.Join(", ", file.Shape(key))}], the model needs {type} [{string.Join(", ", shape)}]; the files come from different models");
        }
        var layer = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (part, _, _) in expected)
        {
            layer[part] = file.Read($"{name}.{part}");
            used.Add($"{name}.{part}");
        }
        if (file.Contains($"{name}.bias"))
        {
            layer["bias"] = file.Read($"{name}.bias");
            used.Add($"{name}.bias");
        }
        return layer;
    }

    static nn.Module<Tensor, Tensor> Create(IReadOnlyDictionary<string, Tensor> layer, QuantizationSpec spec, bool consumeCodes = false) =>
        spec.Bits == 8
            ? new Int8Linear(layer["qweight"], layer["scales"], layer.GetValueOrDefault("bias"), consumeCodes)
            : new Int4Linear(layer["qweight"], layer["scales"], layer["mins"], spec.GroupSize, layer.GetValueOrDefault("bias"));
}
