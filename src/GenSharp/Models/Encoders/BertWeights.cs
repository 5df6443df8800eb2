using GenSharp.Checkpoints;

namespace GenSharp.Models.Encoders;

/// <summary>Copies tensors named as Hugging Face's BertModel / BertForMaskedLM into a <see cref="BertNetwork"/>.</summary>
public static class BertWeights
{
    /// <summary>
    /// Sets every parameter of <paramref name="network"/> from <paramref name="tensors"/>, found by its own name
    /// (<c>bert.embeddings…</c>, <c>cls.predictions…</c>) or without the <c>bert.</c> prefix (a BertModel's names).
    /// Tensors the network has no place for (BertForPreTraining's next-sentence head, the tied decoder) are ignored.
    /// </summary>
    public static void Load(BertNetwork network, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        using var _ = torch.no_grad();
        foreach (var (name, p) in network.state_dict())
        {
            var key = tensors.ContainsKey(name) ? name
                : name.StartsWith("bert.", StringComparison.Ordinal) && tensors.ContainsKey(name[5..]) ? name[5..]
                : throw new GenSharpException($"{source} has no tensor {name}{(name.StartsWith("bert.") ? $" (nor {name[5..]})" : "")}");
            var t = tensors[key];
            if (!t.shape.SequenceEqual(p.shape))
                throw new GenSharpException($"{source}: {key} has shape [{string.Join(", ", t.shape)}], the config gives [{string.Join(", ", p.shape)}]");
            p.copy_(t.to(p.dtype));
        }
    }

    /// <summary>
    /// A BERT ONNX export's weights under Hugging Face names. Exporters keep biases and LayerNorm parameters under their
    /// module names but give the linear layers' matrices anonymous names (<c>onnx::MatMul_927</c>, or a number), stored
    /// as Wᵀ (in, out) for a MatMul: each is named from the bias added to its product (<c>….bias</c> → <c>….weight</c>)
    /// and transposed back to PyTorch's (out, in).
    /// </summary>
    public static Dictionary<string, Tensor> FromOnnx(OnnxWeights onnx, string source)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, (shape, values)) in onnx.Tensors)
            if (name.StartsWith("embeddings.", StringComparison.Ordinal) || name.StartsWith("encoder.", StringComparison.Ordinal)
                || name.StartsWith("pooler.", StringComparison.Ordinal))
                result[name] = torch.tensor(values, shape);
        var consumers = onnx.Nodes.SelectMany(n => n.Inputs.Select(i => (Input: i, Node: n))).ToLookup(p => p.Input, p => p.Node);
        foreach (var node in onnx.Nodes.Where(n => n.OpType == "MatMul" && n.Inputs.Count == 2))
        {
            var w = node.Inputs[1];
            if (result.ContainsKey(w) || !onnx.Tensors.TryGetValue(w, out var weight) || weight.Shape.Length != 2) continue;
            var add = consumers[node.Outputs[0]].FirstOrDefault(n => n.OpType == "Add");
            var bias = add?.Inputs.FirstOrDefault(i => i.EndsWith(".bias", StringComparison.Ordinal) && result.ContainsKey(i));
            if (bias is null) continue;
            result[bias[..^5] + ".weight"] = torch.tensor(weight.Values, weight.Shape).t().contiguous();   // (in, out) → (out, in)
        }
        if (!result.ContainsKey("embeddings.word_embeddings.weight"))
            throw new GenSharpException($"{source} is not a BERT export (no embeddings.word_embeddings.weight)");
        return result;
    }

    /// <summary>The shape of the BERT a set of Hugging Face-named tensors holds; heads and the rest come from <paramref name="template"/>.</summary>
    public static BertConfig InferConfig(IReadOnlyDictionary<string, Tensor> t, BertConfig template)
    {
        string P(string n) => t.ContainsKey(n) ? n : "bert." + n;
        var word = t[P("embeddings.word_embeddings.weight")];
        int layers = 0;
        while (t.ContainsKey(P($"encoder.layer.{layers}.attention.self.query.weight"))) layers++;
        return template with
        {
            VocabSize = (int)word.shape[0],
            HiddenSize = (int)word.shape[1],
            MaxPositionEmbeddings = (int)t[P("embeddings.position_embeddings.weight")].shape[0],
            TypeVocabSize = (int)t[P("embeddings.token_type_embeddings.weight")].shape[0],
            IntermediateSize = (int)t[P("encoder.layer.0.intermediate.dense.weight")].shape[0],
            NumHiddenLayers = layers,
            Pooler = t.ContainsKey(P("pooler.dense.weight")),
            MlmHead = t.ContainsKey("cls.predictions.transform.dense.weight"),
            Dropout = 0,
        };
    }
}
