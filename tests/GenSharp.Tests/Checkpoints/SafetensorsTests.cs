using System.Buffers.Binary;
using System.Text;
using GenSharp.Checkpoints;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public sealed class SafetensorsTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "gensharp-st-" + Guid.NewGuid().ToString("N"));

    public SafetensorsTests()
    {
        TorchRuntime.EnsureReady();
        Directory.CreateDirectory(_dir);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // ------------------------------------------------------------ round trips

    public static TheoryData<string> AllDTypes => new() { "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL" };

    static Tensor Sample(string code) => code switch
    {
        "F64" => tensor(new[] { 1.25, -2.5, 1e300, double.Epsilon, 0.0, 7.0 }).reshape(2, 3),
        "F32" => tensor(new[] { 1.25f, -2.5f, 3.4e38f, 1e-45f, 0f, 7f }).reshape(2, 3),
        "F16" => tensor(new[] { 1.5f, -2f, 65504f, 0.000061035156f, 0f, -0.25f }).to_type(ScalarType.Float16).reshape(3, 2),
        "BF16" => tensor(new[] { 1.5f, -2f, 3.3895314e38f, 0.0078125f, 0f, -256f }).to_type(ScalarType.BFloat16).reshape(3, 2),
        "I64" => tensor(new[] { long.MinValue, -1L, 0L, long.MaxValue }).reshape(2, 2),
        "I32" => tensor(new[] { int.MinValue, -1, 0, int.MaxValue }),
        "I16" => tensor(new short[] { short.MinValue, -1, 0, short.MaxValue }),
        "I8" => tensor(new sbyte[] { sbyte.MinValue, -1, 0, sbyte.MaxValue }),
        "U8" => tensor(new byte[] { 0, 1, 128, 255 }),
        "BOOL" => tensor(new[] { true, false, false, true }).reshape(1, 4),
        _ => throw new ArgumentException(code),
    };

    static void AssertSameTensor(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(DeviceType.CPU, actual.device_type);
        Assert.Equal(expected.contiguous().bytes.ToArray(), actual.bytes.ToArray());
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void RoundTripsEveryDTypeExactly(string code)
    {
        using var original = Sample(code);
        using var scalar = Sample(code).flatten()[1].clone(); // shape []
        using var zero = empty(new long[] { 0, 3 }, original.dtype);
        var bytes = Safetensors.Serialize(new Dictionary<string, Tensor> { ["t"] = original, ["scalar"] = scalar, ["zero"] = zero });

        using var file = Safetensors.Deserialize(bytes, "mem.safetensors");
        AssertSameTensor(original, file.Tensors["t"]);
        AssertSameTensor(scalar, file.Tensors["scalar"]);
        Assert.Empty(file.Tensors["scalar"].shape);
        AssertSameTensor(zero, file.Tensors["zero"]);
        Assert.Equal(3, file.Tensors.Count);

        var header = HeaderOf(bytes);
        Assert.Contains($"\"dtype\":\"{code}\"", header);
        Assert.Contains("\"scalar\":{\"dtype\":\"" + code + "\",\"shape\":[]", header);
    }

    [Fact]
    public void HalfPrecisionValuesSurviveExactly()
    {
        using var h = tensor(new[] { 1.5f, -2f, 65504f, 0.000061035156f }).to_type(ScalarType.Float16);
        using var b = tensor(new[] { 1.5f, -2f, 3.3895314e38f, 0.0078125f }).to_type(ScalarType.BFloat16);
        using var file = Safetensors.Deserialize(Safetensors.Serialize(new Dictionary<string, Tensor> { ["h"] = h, ["b"] = b }), "x");
        using var h32 = file.Tensors["h"].to_type(ScalarType.Float32);
        using var b32 = file.Tensors["b"].to_type(ScalarType.Float32);
        Assert.Equal(new[] { 1.5f, -2f, 65504f, 0.000061035156f }, h32.data<float>().ToArray());
        Assert.Equal(new[] { 1.5f, -2f, 3.3895314e38f, 0.0078125f }, b32.data<float>().ToArray());
        // F16 1.5 = 0x3E00, BF16 1.5 = 0x3FC0, little-endian
        Assert.Equal(new byte[] { 0x00, 0x3E }, file.Tensors["h"].bytes[..2].ToArray());
        Assert.Equal(new byte[] { 0xC0, 0x3F }, file.Tensors["b"].bytes[..2].ToArray());
    }

    [Fact]
    public void MetadataRoundTrips()
    {
        using var t = ones(2);
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"", ["empty"] = "" };
        using var file = Safetensors.Deserialize(Safetensors.Serialize(new Dictionary<string, Tensor> { ["t"] = t }, metadata), "x");
        Assert.Equal(metadata.OrderBy(p => p.Key), file.Metadata.OrderBy(p => p.Key));
    }

    [Fact]
    public void NoMetadataGivesEmptyMetadataAndNoMetadataEntry()
    {
        using var t = ones(2);
        var bytes = Safetensors.Serialize(new Dictionary<string, Tensor> { ["t"] = t });
        Assert.DoesNotContain("__metadata__", HeaderOf(bytes));
        using var file = Safetensors.Deserialize(bytes, "x");
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void HeaderIsPaddedWithSpacesToEightByteAlignment()
    {
        for (int nameLength = 1; nameLength <= 9; nameLength++)
        {
            using var t = ones(3);
            var bytes = Safetensors.Serialize(new Dictionary<string, Tensor> { [new string('n', nameLength)] = t });
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0UL, (8 + n) % 8);
            Assert.Equal(8 + (long)n + 12, bytes.LongLength);
            var header = Encoding.UTF8.GetString(bytes, 8, (int)n);
            Assert.EndsWith("}", header.TrimEnd(' '));
            Assert.True(header.Length - header.TrimEnd(' ').Length < 8);
        }
    }

    [Fact]
    public void OutputIsSortedByNameAndDeterministic()
    {
        using var a = ones(1);
        using var b = zeros(2);
        using var c = full(3, 5f);
        var first = Safetensors.Serialize(new Dictionary<string, Tensor> { ["c"] = c, ["a"] = a, ["b"] = b });
        var second = Safetensors.Serialize(new Dictionary<string, Tensor> { ["b"] = b, ["c"] = c, ["a"] = a });
        Assert.Equal(first, second);
        var header = HeaderOf(first);
        Assert.True(header.IndexOf("\"a\"") < header.IndexOf("\"b\"") && header.IndexOf("\"b\"") < header.IndexOf("\"c\""));
        Assert.Contains("\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", header);
        Assert.Contains("\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}", header);
        Assert.Contains("\"c\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,24]}", header);
    }

    [Fact]
    public void NonContiguousAndGradTensorsAreSavedByValue()
    {
        using var m = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var transposed = m.t();
        Assert.False(transposed.is_contiguous());
        using var grad = ones(2, requires_grad: true);
        using var file = Safetensors.Deserialize(Safetensors.Serialize(new Dictionary<string, Tensor> { ["t"] = transposed, ["g"] = grad }), "x");
        Assert.Equal(new long[] { 3, 2 }, file.Tensors["t"].shape);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, file.Tensors["t"].data<float>().ToArray());
        Assert.False(file.Tensors["g"].requires_grad);
    }

    [Fact]
    public void HandWrittenFileReadsToExpectedTensors()
    {
        // Built straight from the format description, independent of the writer.
        const string json = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            + "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]}}   ";
        var data = new byte[32];
        float[] values = [1f, -2f, 0.5f, 3.25f, -0f, 1e-3f];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(24), 123456789012L);
        var bytes = Build(json, data);

        using var file = Safetensors.Deserialize(bytes, "hand.safetensors");
        Assert.Equal(new long[] { 2, 3 }, file.Tensors["weight"].shape);
        Assert.Equal(ScalarType.Float32, file.Tensors["weight"].dtype);
        Assert.Equal(values, file.Tensors["weight"].data<float>().ToArray());
        Assert.Equal(1f, file.Tensors["weight"][0, 0].item<float>());
        Assert.Equal(3.25f, file.Tensors["weight"][1, 0].item<float>());
        Assert.Empty(file.Tensors["step"].shape);
        Assert.Equal(123456789012L, file.Tensors["step"].item<long>());
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(["weight", "step"], file.Tensors.Keys);
    }

    [Fact]
    public void HandWrittenEmptyFileHasNoTensors()
    {
        using var file = Safetensors.Deserialize(Build("{}", []), "empty.safetensors");
        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void SaveAndLoadThroughFile()
    {
        var path = Path.Combine(_dir, "w.safetensors");
        using var t = arange(10, dtype: ScalarType.Int32);
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = t }, new Dictionary<string, string> { ["k"] = "v" });
        Assert.Equal(["w.safetensors"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        Assert.Equal(Safetensors.Serialize(new Dictionary<string, Tensor> { ["x"] = t }, new Dictionary<string, string> { ["k"] = "v" }), File.ReadAllBytes(path));
        using var file = Safetensors.Load(path);
        AssertSameTensor(t, file.Tensors["x"]);
        Assert.Equal("v", file.Metadata["k"]);
        Assert.Equal(path, file.SourceName);
    }

    [Fact]
    public void LoadedTensorsSurviveDisposeScopesAndOwnTheirMemory()
    {
        var bytes = Safetensors.Serialize(new Dictionary<string, Tensor> { ["x"] = tensor(new[] { 1f, 2f, 3f }) });
        SafetensorsFile file;
        using (NewDisposeScope())
        {
            file = Safetensors.Deserialize(bytes, "x");
        }
        Array.Clear(bytes);
        using (file)
            Assert.Equal(new[] { 1f, 2f, 3f }, file.Tensors["x"].data<float>().ToArray());
        Assert.Throws<ObjectDisposedException>(() => file.Tensors);
    }

    [Fact]
    public void LoadMissingFileIsAUserError()
    {
        var e = Assert.Throws<GenSharpException>(() => Safetensors.Load(Path.Combine(_dir, "nope.safetensors")));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void LoadRejectsMalformedFileNamingIt()
    {
        var path = Path.Combine(_dir, "bad.safetensors");
        File.WriteAllBytes(path, Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]));
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("out of range", e.Message);
    }

    [Fact]
    public void SavingUnsupportedDTypeIsAUserError()
    {
        using var c = ones(2, dtype: ScalarType.ComplexFloat32);
        var e = Assert.Throws<GenSharpException>(() => Safetensors.Serialize(new Dictionary<string, Tensor> { ["c"] = c }));
        Assert.Contains("'c'", e.Message);
    }

    [Fact]
    public void SavingReservedNameIsAUserError()
    {
        using var t = ones(1);
        Assert.Throws<GenSharpException>(() => Safetensors.Serialize(new Dictionary<string, Tensor> { ["__metadata__"] = t }));
    }

    // ------------------------------------------------------------ malformed files

    static string Entry(string dtype = "\"F32\"", string shape = "[2]", string offsets = "[0,8]") =>
        $"{{\"dtype\":{dtype},\"shape\":{shape},\"data_offsets\":{offsets}}}";

    static SafetensorsFormatException Rejects(byte[] bytes, string problem)
    {
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Deserialize(bytes, "bad.safetensors"));
        Assert.Contains("bad.safetensors", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain("\n", e.Message);
        return e;
    }

    [Fact]
    public void RejectsFileShorterThanEightBytes() =>
        Rejects(new byte[5], "shorter than the 8-byte");

    [Fact]
    public void RejectsHeaderLengthBeyondFileSize()
    {
        var bytes = Build("{}", []);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        Rejects(bytes, "beyond the file size");
    }

    [Fact]
    public void RejectsHugeHeaderLength()
    {
        var bytes = Build("{}", []);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Rejects(bytes, "beyond the file size");
    }

    [Fact]
    public void RejectsInvalidJson() =>
        Rejects(Build("{\"a\": {", []), "not valid JSON");

    [Fact]
    public void RejectsInvalidUtf8Header() =>
        Rejects(Build([(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}'], []), "not valid UTF-8");

    [Fact]
    public void RejectsHeaderThatIsNotAnObject() =>
        Rejects(Build("[1,2]", []), "not a JSON object");

    [Theory]
    [InlineData("dtype")]
    [InlineData("shape")]
    [InlineData("data_offsets")]
    public void RejectsEntryMissingAField(string field)
    {
        var fields = new Dictionary<string, string> { ["dtype"] = "\"F32\"", ["shape"] = "[2]", ["data_offsets"] = "[0,8]" };
        fields.Remove(field);
        var json = "{\"a\":{" + string.Join(",", fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}}";
        Rejects(Build(json, new byte[8]), $"tensor 'a' is missing {field}");
    }

    [Fact]
    public void RejectsEntryThatIsNotAnObject() =>
        Rejects(Build("{\"a\":[1]}", []), "not an object");

    [Fact]
    public void RejectsUnknownDType() =>
        Rejects(Build("{\"a\":" + Entry(dtype: "\"F8_E4M3\"", shape: "[8]") + "}", new byte[8]), "unsupported dtype 'F8_E4M3'");

    [Fact]
    public void RejectsNegativeDimension() =>
        Rejects(Build("{\"a\":" + Entry(shape: "[-2]") + "}", new byte[8]), "negative dimension -2");

    [Fact]
    public void RejectsNonIntegerDimension() =>
        Rejects(Build("{\"a\":" + Entry(shape: "[2.5]") + "}", new byte[8]), "not an integer");

    [Fact]
    public void RejectsOffsetsOutOfRange() =>
        Rejects(Build("{\"a\":" + Entry(offsets: "[0,8]") + "}", new byte[4]), "out of range");

    [Fact]
    public void RejectsNegativeOffset() =>
        Rejects(Build("{\"a\":" + Entry(offsets: "[-8,0]") + "}", new byte[8]), "not a non-negative integer");

    [Fact]
    public void RejectsBeginAfterEnd() =>
        Rejects(Build("{\"a\":" + Entry(offsets: "[8,0]") + "}", new byte[8]), "begin is after its end");

    [Fact]
    public void RejectsOverlappingTensors() =>
        Rejects(Build("{\"a\":" + Entry(offsets: "[0,8]") + ",\"b\":" + Entry(offsets: "[4,12]") + "}", new byte[12]), "overlapping");

    [Fact]
    public void RejectsTwoTensorsSharingBytes() =>
        Rejects(Build("{\"a\":" + Entry() + ",\"b\":" + Entry() + "}", new byte[8]), "overlapping");

    [Fact]
    public void RejectsByteSizeNotMatchingShape() =>
        Rejects(Build("{\"a\":" + Entry(shape: "[3]", offsets: "[0,8]") + "}", new byte[8]), "byte size");

    [Fact]
    public void RejectsHoleBetweenTensors() =>
        Rejects(Build("{\"a\":" + Entry(offsets: "[0,8]") + ",\"b\":" + Entry(offsets: "[12,20]") + "}", new byte[20]), "gap");

    [Fact]
    public void RejectsHoleAtStartOfData() =>
        Rejects(Build("{\"a\":" + Entry(offsets: "[4,12]") + "}", new byte[12]), "gap");

    [Fact]
    public void RejectsUnusedBytesAfterLastTensor() =>
        Rejects(Build("{\"a\":" + Entry() + "}", new byte[12]), "gap of 4 unused bytes");

    [Fact]
    public void RejectsNonStringMetadataValue() =>
        Rejects(Build("{\"__metadata__\":{\"epoch\":3}}", []), "metadata value for 'epoch'");

    [Fact]
    public void RejectsMetadataThatIsNotAnObject() =>
        Rejects(Build("{\"__metadata__\":\"pt\"}", []), "__metadata__");

    [Fact]
    public void RejectsDuplicateTensorNames() =>
        Rejects(Build("{\"a\":" + Entry(offsets: "[0,8]") + ",\"a\":" + Entry(offsets: "[8,16]") + "}", new byte[16]), "duplicate tensor name 'a'");

    // ------------------------------------------------------------ ModuleState

    static nn.Module<Tensor, Tensor> SmallNet() => nn.Sequential(
        ("0", nn.Conv2d(3, 4, 3)),
        ("1", nn.BatchNorm2d(4)),
        ("2", nn.Linear(4, 2)));

    [Fact]
    public void ModuleStateCollectUsesPyTorchNames()
    {
        using var net = SmallNet();
        var state = ModuleState.Collect(net);
        Assert.Equal(
            new[] { "0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight", "2.bias", "2.weight" },
            state.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(new long[] { 4, 3, 3, 3 }, state["0.weight"].shape);
        Assert.Equal(ScalarType.Int64, state["1.num_batches_tracked"].dtype);
    }

    [Fact]
    public void ModuleStateRoundTripsThroughSafetensorsFile()
    {
        var path = Path.Combine(_dir, "net.safetensors");
        using var source = SmallNet();
        using (no_grad())
        {
            ModuleState.Collect(source)["1.running_mean"].copy_(tensor(new[] { 0.5f, -1f, 2f, 3f }));
            ModuleState.Collect(source)["1.num_batches_tracked"].fill_(7);
        }
        Safetensors.Save(path, ModuleState.Collect(source));

        using var target = SmallNet();
        using (var file = Safetensors.Load(path))
            ModuleState.Load(target, file.Tensors, path);

        var expected = ModuleState.Collect(source);
        var actual = ModuleState.Collect(target);
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (name, value) in expected)
            AssertSameTensor(value, actual[name]);
        Assert.Equal(new[] { 0.5f, -1f, 2f, 3f }, actual["1.running_mean"].data<float>().ToArray());
        Assert.Equal(7L, actual["1.num_batches_tracked"].item<long>());
        Assert.True(actual["0.weight"].requires_grad);
    }

    [Fact]
    public void ModuleStateLoadListsEveryMismatchAndChangesNothing()
    {
        using var net = SmallNet();
        using var donor = SmallNet();
        var tensors = new Dictionary<string, Tensor>(ModuleState.Collect(donor));
        tensors.Remove("2.bias");
        tensors.Remove("1.running_var");
        tensors["3.bias"] = zeros(2);
        tensors["2.weight"] = zeros(3, 4);
        tensors["0.bias"] = zeros(4, dtype: ScalarType.Float16);
        using var before = ModuleState.Collect(net)["0.weight"].clone();

        var e = Assert.Throws<GenSharpException>(() => ModuleState.Load(net, tensors, "model.safetensors"));

        Assert.StartsWith("model.safetensors does not match the model: ", e.Message);
        Assert.Contains("missing [", e.Message);
        Assert.Contains("2.bias", e.Message);
        Assert.Contains("1.running_var", e.Message);
        Assert.Contains("unexpected [3.bias]", e.Message);
        Assert.Contains("shape mismatch [2.weight: file (3,4) vs model (2,4)]", e.Message);
        Assert.Contains("dtype mismatch [0.bias: file F16 vs model F32]", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.Equal(before.data<float>().ToArray(), ModuleState.Collect(net)["0.weight"].data<float>().ToArray());
    }

    [Fact]
    public void ReaderLoadsAModuleATensorAtATimeLikeTheWholeFile()
    {
        var path = Path.Combine(_dir, "net.safetensors");
        using var source = SmallNet();
        using (no_grad()) ModuleState.Collect(source)["1.running_mean"].copy_(tensor(new[] { 0.5f, -1f, 2f, 3f }));
        Safetensors.Save(path, ModuleState.Collect(source), new Dictionary<string, string> { ["k"] = "v" });

        using var target = SmallNet();
        using (var reader = SafetensorsReader.Open(path))
        {
            Assert.Equal("v", reader.Metadata["k"]);
            Assert.Equal(new long[] { 4, 3, 3, 3 }, reader.Shape("0.weight"));
            Assert.Equal(ScalarType.Int64, reader.DType("1.num_batches_tracked"));
            ModuleState.Load(target, reader);
        }
        foreach (var (name, value) in ModuleState.Collect(source))
            AssertSameTensor(value, ModuleState.Collect(target)[name]);
        Assert.True(ModuleState.Collect(target)["0.weight"].requires_grad);
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void ReaderReadsEachDTypeAsLoadDoes(string code)
    {
        var path = Path.Combine(_dir, code + ".safetensors");
        using var original = Sample(code);
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["t"] = original, ["z"] = zeros(0) });
        using var reader = SafetensorsReader.Open(path);
        using var read = reader.Read("t");
        AssertSameTensor(original, read);
        using var empty = reader.Read("z");
        Assert.Equal(0, empty.numel());
    }

    [Fact]
    public void ReaderCastsIntoAnotherDTypeAndRefusesAnotherShape()
    {
        var path = Path.Combine(_dir, "half.safetensors");
        using var half = tensor(new[] { 1.5f, -2f, 0.25f, 8f }).to_type(ScalarType.Float16);
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = half });
        using var reader = SafetensorsReader.Open(path);

        using var into = zeros(4);                                   // F32: staged through a temporary and cast
        reader.ReadInto("w", into);
        Assert.Equal(new[] { 1.5f, -2f, 0.25f, 8f }, into.data<float>().ToArray());

        using var strided16 = zeros(new long[] { 4, 2 }, ScalarType.Float16).select(1, 1);
        reader.ReadInto("w", strided16);
        Assert.Equal(new[] { 1.5f, -2f, 0.25f, 8f }, strided16.to_type(ScalarType.Float32).data<float>().ToArray());

        using var wrong = zeros(2, 2);
        var e = Assert.Throws<GenSharpException>(() => reader.ReadInto("w", wrong));
        Assert.Contains("tensor 'w' has shape (4), the model needs (2,2)", e.Message);
        var missing = Assert.Throws<GenSharpException>(() => reader.Read("nope"));
        Assert.Contains("has no tensor 'nope'", missing.Message);
    }

    /// <summary>
    /// A mapped tensor holds the file's bytes at the tensor's place (a float tensor before it shifts the data to an odd
    /// offset), writing to it leaves the file as it was (a private mapping), and a wider dtype is refused by name.
    /// </summary>
    [Fact]
    public void ReaderMapsOneByteTensorsWithoutChangingTheFile()
    {
        var path = Path.Combine(_dir, "codes.safetensors");
        using var pad = tensor(new[] { 1f, 2f, 3f });                            // 12 bytes before the codes ("a" sorts first)
        using var odd = tensor(new byte[] { 7 });                                // and one more: the codes start at an odd offset
        using var codes = randint(-127, 128, new long[] { 5, 7 }, dtype: ScalarType.Int8);
        using var packed = randint(0, 256, new long[] { 3, 4 }, dtype: ScalarType.Byte);
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["a"] = pad, ["b"] = odd, ["c"] = codes, ["d"] = packed });
        var bytes = File.ReadAllBytes(path);
        using (var reader = SafetensorsReader.Open(path))
        {
            using var mappedCodes = reader.Map("c");
            using var mappedPacked = reader.Map("d");
            Assert.Equal(ScalarType.Int8, mappedCodes.dtype);
            Assert.Equal(new long[] { 5, 7 }, mappedCodes.shape);
            AssertSameTensor(codes, mappedCodes);
            AssertSameTensor(packed, mappedPacked);
            using (var rows = mappedCodes.index_select(0, tensor(new long[] { 4, 1 })))
                AssertSameTensor(codes.index_select(0, tensor(new long[] { 4, 1 })), rows);
            mappedCodes.fill_(0);                                                // copy-on-write: the file keeps its codes
            var e = Assert.Throws<ArgumentException>(() => reader.Map("a"));
            Assert.Contains("'a' is Float32", e.Message);
        }
        Assert.Equal(bytes, File.ReadAllBytes(path));
        using var again = SafetensorsReader.Open(path);
        using var reread = again.Read("c");
        AssertSameTensor(codes, reread);
    }

    [Fact]
    public void ReaderModuleLoadListsMismatchesFromTheHeaderAndChangesNothing()
    {
        var path = Path.Combine(_dir, "other.safetensors");
        using var donor = SmallNet();
        var tensors = new Dictionary<string, Tensor>(ModuleState.Collect(donor));
        tensors.Remove("2.bias");
        tensors["2.weight"] = zeros(3, 4);
        Safetensors.Save(path, tensors);
        using var net = SmallNet();
        using var before = ModuleState.Collect(net)["0.weight"].clone();

        using var reader = SafetensorsReader.Open(path);
        var e = Assert.Throws<GenSharpException>(() => ModuleState.Load(net, reader));

        Assert.StartsWith(path + " does not match the model: missing [2.bias], shape mismatch [2.weight: file (3,4) vs model (2,4)]", e.Message);
        Assert.Equal(before.data<float>().ToArray(), ModuleState.Collect(net)["0.weight"].data<float>().ToArray());
    }

    // ------------------------------------------------------------ helpers

    static byte[] Build(string headerJson, byte[] data) => Build(Encoding.UTF8.GetBytes(headerJson), data);

    static byte[] Build(byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    static string HeaderOf(byte[] bytes) =>
        Encoding.UTF8.GetString(bytes, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
}
