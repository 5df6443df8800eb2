using System.Text;

namespace GenSharp.Models.Encoders;

/// <summary>
/// Reads the float32 weights of an ONNX model (<c>ModelProto</c> → <c>GraphProto</c> initializers and Constant nodes)
/// with a protobuf wire-format reader of its own, and the graph's nodes (name, op type, inputs, outputs), which tell
/// what an exporter's anonymous initializers (<c>onnx::MatMul_123</c>) are. Only what loading weights needs is read:
/// ModelProto.graph (7); GraphProto.node (1), initializer (5); NodeProto.input (1), output (2), name (3), op_type (4),
/// attribute (5); AttributeProto.name (1), t (5); TensorProto.dims (1), data_type (2), float_data (4), name (8),
/// raw_data (9), data_location (14). See onnx/onnx.proto.
/// </summary>
public sealed class OnnxWeights
{
    /// <summary>A node of the graph.</summary>
    public sealed record Node(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);

    /// <summary>Float32 tensors by name, as (shape, values).</summary>
    public Dictionary<string, (long[] Shape, float[] Values)> Tensors { get; } = new(StringComparer.Ordinal);

    /// <summary>The graph's nodes in order.</summary>
    public List<Node> Nodes { get; } = new();

    /// <summary>Reads an ONNX file's bytes.</summary>
    public static OnnxWeights Read(byte[] model, string source)
    {
        var w = new OnnxWeights();
        try
        {
            var r = new Reader(model, 0, model.Length);
            bool graph = false;
            while (r.More)
            {
                var (field, wire) = r.Tag();
                if (field == 7 && wire == 2) { w.ReadGraph(r.Sub()); graph = true; }
                else r.Skip(wire);
            }
            if (!graph) throw new FormatException("no graph");
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new GenSharpException($"{source} is not a readable ONNX model ({e.Message})");
        }
        return w;
    }

    void ReadGraph(Reader r)
    {
        while (r.More)
        {
            var (field, wire) = r.Tag();
            if (field == 1 && wire == 2) ReadNode(r.Sub());
            else if (field == 5 && wire == 2) { var (name, t) = ReadTensor(r.Sub()); if (t is { } tensor) Tensors[name] = tensor; }
            else r.Skip(wire);
        }
    }

    void ReadNode(Reader r)
    {
        string name = "", op = "";
        var inputs = new List<string>();
        var outputs = new List<string>();
        (long[], float[])? value = null;
        while (r.More)
        {
            var (field, wire) = r.Tag();
            switch (field, wire)
            {
                case (1, 2): inputs.Add(r.String()); break;
                case (2, 2): outputs.Add(r.String()); break;
                case (3, 2): name = r.String(); break;
                case (4, 2): op = r.String(); break;
                case (5, 2):
                    var a = r.Sub();
                    string attr = "";
                    (long[], float[])? t = null;
                    while (a.More)
                    {
                        var (f, wt) = a.Tag();
                        if (f == 1 && wt == 2) attr = a.String();
                        else if (f == 5 && wt == 2) t = ReadTensor(a.Sub()).Tensor;
                        else a.Skip(wt);
                    }
                    if (attr == "value") value = t;
                    break;
                default: r.Skip(wire); break;
            }
        }
        Nodes.Add(new Node(name, op, inputs, outputs));
        if (op == "Constant" && value is { } v && outputs.Count == 1) Tensors[outputs[0]] = v;
    }

    /// <summary>A TensorProto; null when it is not float32 (int64 shape constants and the like).</summary>
    static (string Name, (long[], float[])? Tensor) ReadTensor(Reader r)
    {
        var dims = new List<long>();
        int type = 0;
        string name = "";
        float[]? floats = null;
        ReadOnlyMemory<byte> raw = default;
        bool external = false;
        while (r.More)
        {
            var (field, wire) = r.Tag();
            switch (field, wire)
            {
                case (1, 0): dims.Add((long)r.Varint()); break;
                case (1, 2): { var p = r.Sub(); while (p.More) dims.Add((long)p.Varint()); break; }
                case (2, 0): type = (int)r.Varint(); break;
                case (4, 2): { var b = r.Bytes(); floats = new float[b.Length / 4]; Buffer.BlockCopy(b.ToArray(), 0, floats, 0, floats.Length * 4); break; }
                case (8, 2): name = r.String(); break;
                case (9, 2): raw = r.Bytes(); break;
                case (14, 0): external = r.Varint() == 1; break;
                default: r.Skip(wire); break;
            }
        }
        if (type != 1) return (name, null);                                     // 1 = FLOAT
        if (external) throw new GenSharpException($"ONNX tensor {name} keeps its data in an external file, which is not supported");
        long count = dims.Aggregate(1L, (a, d) => a * d);
        if (floats is null)
        {
            if (raw.Length != count * 4) throw new FormatException($"tensor {name}: {raw.Length} bytes for {count} floats");
            floats = new float[count];
            Buffer.BlockCopy(raw.ToArray(), 0, floats, 0, raw.Length);          // little-endian, as ONNX stores it
        }
        if (floats.Length != count) throw new FormatException($"tensor {name}: {floats.Length} values for shape [{string.Join(", ", dims)}]");
        return (name, (dims.ToArray(), floats));
    }

    /// <summary>Protobuf wire-format reader over a byte range.</summary>
    sealed class Reader(byte[] data, int start, int end)
    {
        int _at = start;
        public bool More => _at < end;

        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (_at >= end || shift > 63) throw new FormatException("truncated varint");
                byte b = data[_at++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
        }

        public (int Field, int Wire) Tag()
        {
            ulong t = Varint();
            return ((int)(t >> 3), (int)(t & 7));
        }

        int Length()
        {
            ulong n = Varint();
            if (n > (ulong)(end - _at)) throw new FormatException("length past the end");
            return (int)n;
        }

        public Reader Sub()
        {
            int n = Length();
            var r = new Reader(data, _at, _at + n);
            _at += n;
            return r;
        }

        public ReadOnlyMemory<byte> Bytes()
        {
            int n = Length();
            var m = new ReadOnlyMemory<byte>(data, _at, n);
            _at += n;
            return m;
        }

        public string String() => Encoding.UTF8.GetString(Bytes().Span);

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: _at += 8; break;
                case 2: { int n = Length(); _at += n; break; }   // not _at += Length(): _at would be read before the length is
                case 5: _at += 4; break;
                default: throw new FormatException($"unsupported wire type {wire} at byte {_at}");
            }
            if (_at > end) throw new FormatException("field past the end");
        }
    }
}
