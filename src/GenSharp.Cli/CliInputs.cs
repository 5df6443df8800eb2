using System.Globalization;
using GenSharp.Checkpoints;
using GenSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Cli;

/// <summary>Inputs several commands read the same way: test images, image files for completion and inpainting, checkpoints.</summary>
public static class CliInputs
{
    /// <summary>The test split of --data, cut to --limit.</summary>
    public static ImageDataset TestData(string? data, int? limit)
    {
        var d = FashionMnist.Load(data, train: false);
        if (limit is { } n)
        {
            if (n < 1) { d.Dispose(); throw new GenSharpException($"--limit must be ≥ 1, got {n}"); }
            if (n < d.Count) { var t = d.Take(n); d.Dispose(); return t; }
        }
        return d;
    }

    /// <summary>
    /// Images to complete or inpaint: a PNG whose sides are multiples of the image size, a uint8 .npy, or test[:N] = N
    /// (default 8) test images of <paramref name="data"/>, one class after another. (B, C, H, W) uint8.
    /// </summary>
    public static Tensor Images(string source, string flag, string? data, int channels, int size)
    {
        if (source == "test" || source.StartsWith("test:", StringComparison.Ordinal))
        {
            int count = 8;
            if (source.Length > 5 && (!int.TryParse(source[5..], NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1))
                throw new GenSharpException($"--{flag} {source}: expected test:N with N ≥ 1");
            using var test = FashionMnist.Load(data, train: false);
            var labels = test.Labels.data<long>().ToArray();
            var picks = new List<long>();
            for (int cls = 0; picks.Count < count && cls < 1000; cls++)
            {
                int k = cls % test.NumClasses, nth = cls / test.NumClasses;
                var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == k).Skip(nth).FirstOrDefault(-1);
                if (idx >= 0) picks.Add(idx);
            }
            using var index = torch.tensor(picks.ToArray());
            return test.Images.index_select(0, index);
        }
        return GenSharp.Media.ImageInput.Load(source, channels, size);
    }

    /// <summary>The value of an option the command cannot run without, or the one-line usage error naming it.</summary>
    public static string Required(string? value, string option, string command) =>
        value ?? throw new UsageException($"'{command}' needs --{option}; see 'gensharp {command} --help'");

    /// <summary>Checks that an output file name ends in one of the extensions.</summary>
    public static string Output(string? path, string command, params string[] extensions)
    {
        var file = Required(path, "out", command);
        if (extensions.Length > 0 && !extensions.Any(e => file.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            throw new GenSharpException($"--out {file}: expected a {string.Join(" or ", extensions)} file name");
        return file;
    }

    /// <summary>Loads a checkpoint for a command.</summary>
    public static LoadedModel Load(string path, CliSettings s)
    {
        GenSharpCli.Prepare(s);
        if (Models.Pretrained.HfModelFolder.IsHfFolder(path))
            throw new GenSharpException($"{path} is a Hugging Face model folder, a text model: use 'gensharp generate', 'gensharp chat' or 'gensharp eval --data FILE.txt'");
        return Checkpoint.LoadModel(path, s.TorchDevice);
    }

    /// <summary>Applies the common settings and loads a text model: a GenSharp text checkpoint or a Hugging Face folder.</summary>
    public static LoadedTextModel LoadText(string path, CliSettings s, string? adapter = null)
    {
        GenSharpCli.Prepare(s);
        return Checkpoint.LoadTextModel(path, s.TorchDevice, adapter);
    }
}
