using System.ComponentModel;
using System.Diagnostics;
using GenSharp.Checkpoints;
using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Pipelines;
using Spectre.Console.Cli;
using TorchSharp;

namespace GenSharp.Cli.Commands;

/// <summary>Options that set a family's sampler (each applies to the families whose sampler has it).</summary>
public class SamplerSettings : CliSettings
{
    [CommandOption("--scheduler <NAME>")]
    [Description("diffusion: ddpm, ddim, euler, euler-a (Euler ancestral) or dpm++2m (DPM-Solver++ 2M) (default: the checkpoint's sampler, ddim)")]
    public string? Scheduler { get; init; }

    [CommandOption("--steps <N>")]
    [Description("diffusion: sampling steps (default: the checkpoint's sampler_steps; all T for --scheduler ddpm); ebm: Langevin steps; rbm, dbn: Gibbs sweeps (default: the checkpoint's sample_steps); music: time steps to draw (default 128 sixteenths, or 32 quarters)")]
    public int? Steps { get; init; }

    [CommandOption("--eta <E>")]
    [Description("diffusion: DDIM's η (0 = deterministic)")]
    public double? Eta { get; init; }

    [CommandOption("--guidance-scale <W>")]
    [Description("conditional diffusion: classifier-free guidance scale (0 = unconditional, 1 = plain conditional; default: the checkpoint's sampler_guidance)")]
    public double? GuidanceScale { get; init; }

    [CommandOption("--init <START>")]
    [Description("ebm: Langevin chains start from noise or buffer (the replay buffer; default: the checkpoint's sample_init); txt2img: image-to-image from FILE.png|FILE.npy|test[[:N]] images")]
    public string? Init { get; init; }

    [CommandOption("--prompt <TEXT>")]
    [Description("txt2img: what to draw, e.g. \"a dark patterned shirt\" (default: one row per class noun)")]
    public string? Prompt { get; init; }

    [CommandOption("--negative-prompt <TEXT>")]
    [Description("txt2img: what to steer away from (replaces the empty prompt of classifier-free guidance)")]
    public string? NegativePrompt { get; init; }

    [CommandOption("--prompt-to <TEXT>")]
    [Description("txt2img: a prompt interpolation strip of -n images (default 8) from --prompt to this prompt, all from the same noise")]
    public string? PromptTo { get; init; }

    [CommandOption("--strength <S>")]
    [Description("txt2img with --init: 0 keeps the init image, 1 ignores it (default 0.6)")]
    public double? Strength { get; init; }

    [CommandOption("--resample <R>")]
    [Description("diffusion inpainting: RePaint runs each segment of --jump steps R times (1 = no resampling)")]
    public int? Resample { get; init; }

    [CommandOption("--jump <J>")]
    [Description("diffusion inpainting: RePaint's jump length (default 10, or the step count if smaller)")]
    public int? Jump { get; init; }

    /// <summary>The sampler options given on the command line, by option name.</summary>
    public Dictionary<string, string> SamplerValues(bool inpainting)
    {
        var v = new Dictionary<string, string>();
        void Add(string name, object? value) { if (value is not null) v[name] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!; }
        Add("scheduler", Scheduler);
        Add("steps", Steps);
        Add("eta", Eta);
        Add("guidance_scale", GuidanceScale);
        Add("init", Init);
        Add("prompt", Prompt);
        Add("negative_prompt", NegativePrompt);
        Add("strength", Strength);
        if (!inpainting && (Resample is not null || Jump is not null))
            throw new GenSharpException($"--{(Resample is not null ? "resample" : "jump")} goes with --inpaint (or eval --inpaint-mask)");
        Add("resample", Resample);
        Add("jump", Jump);
        return v;
    }
}

public sealed class SampleSettings : SamplerSettings
{
    [CommandArgument(0, "<CKPT>")]
    [Description("a run folder or its checkpoint/ folder, or a Stable Diffusion folder in the diffusers layout (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/)")]
    public string Checkpoint { get; init; } = "";

    [CommandOption("--out <FILE>")]
    [Description("a .png grid or an N×C×H×W uint8 .npy (required)")]
    public string? Out { get; init; }

    [CommandOption("-n <N>")]
    [Description("images to draw (64); per input image with --complete (8) or --inpaint (4); per row with a temperature sweep (10)")]
    public int? N { get; init; }

    [CommandOption("--seed <N>")]
    [Description("seeds every random draw; the same seed draws the same images")]
    [DefaultValue(0L)]
    public long Seed { get; init; }

    [CommandOption("--class <K>")]
    [Description("conditional models: draw class K only (default: one row per class in a PNG grid)")]
    public int? Class { get; init; }

    [CommandOption("--temperature <T>")]
    [Description("flows: sampling temperature, or T1,T2,... for one row per temperature from the same seed")]
    public string? Temperature { get; init; }

    [CommandOption("--complete <SRC>")]
    [Description("autoregressive: complete FILE.png|FILE.npy|test[[:N]] images from their first rows")]
    public string? Complete { get; init; }

    [CommandOption("--rows <R>")]
    [Description("with --complete: rows kept (default half the image)")]
    public int? Rows { get; init; }

    [CommandOption("--known-pixels <P>")]
    [Description("with --complete: pixels kept in raster order, instead of --rows")]
    public long? KnownPixels { get; init; }

    [CommandOption("--data <PATH>")]
    [Description("where test[[:N]] images come from (a Fashion-MNIST folder or 'embedded')")]
    public string? Data { get; init; }

    [CommandOption("--inpaint <SRC>")]
    [Description("diffusion, ebm: inpaint FILE.png|FILE.npy|test[[:N]] images, keeping the pixels --mask marks known")]
    public string? Inpaint { get; init; }

    [CommandOption("--mask <MASK>")]
    [Description("with --inpaint (or --init IMAGE for txt2img and Stable Diffusion folders: inpaint it under --prompt): top, bottom, left, right (that half known), center (all but a central square), random, or a mask image (white = known)")]
    public string? Mask { get; init; }

    [CommandOption("--strip <FILE>")]
    [Description("diffusion: also write a denoising strip x_T … x_0 (PNG)")]
    public string? Strip { get; init; }

    [CommandOption("--gif <FILE>")]
    [Description("diffusion: also write an animation of the reverse process (GIF)")]
    public string? Gif { get; init; }

    [CommandOption("--continue <CLIP.gif>")]
    [Description("videodiffusion: keep the first --frames frames of this GIF clip and draw the rest")]
    public string? Continue { get; init; }

    [CommandOption("--interpolate <CLIP.gif>")]
    [Description("videodiffusion: keep the first and last frames of this GIF clip and draw the frames between")]
    public string? Interpolate { get; init; }

    [CommandOption("--frames <K>")]
    [Description("videodiffusion with --continue: how many of the clip's first frames to keep (default: half the model's frames)")]
    public int? Frames { get; init; }

    [CommandOption("--melody <test:K>")]
    [Description("music (satb16): keep the soprano of the K-th held-out JSB chorale and draw alto, tenor and bass")]
    public string? Melody { get; init; }

    [CommandOption("--prime <test:K[:S]>")]
    [Description("music: continue the first S steps (default 32 sixteenths) of the K-th held-out JSB chorale")]
    public string? Prime { get; init; }

    [CommandOption("--no-render")]
    [Description("music: write the MIDI file and piano roll only (no FluidSynth WAV)")]
    public bool NoRender { get; init; }

    [CommandOption("--sample-rate <HZ>")]
    [Description("music: sample rate of the FluidSynth WAV, 8000 to 96000 (default 22050)")]
    public int? SampleRate { get; init; }

    [CommandOption("--seconds <S>")]
    [Description("audio (wavenet): seconds to draw (default 1; a vocoder at most its --condition recording's length)")]
    public double? Seconds { get; init; }

    [CommandOption("--condition <WAV>")]
    [Description("audio vocoder: resynthesise this recording's log-mel spectrogram: FILE.wav (mono 16-bit) or test:K (K-th held-out Allison utterance)")]
    public string? Condition { get; init; }

    [CommandOption("--no-watermark")]
    [Description("images: write them without the invisible watermark (pixel mark on every PNG/.npy; Tree-Ring in x_T for deterministic DDIM diffusion)")]
    public bool NoWatermark { get; init; }

    [CommandOption("--no-tree-ring")]
    [Description("diffusion images: keep the pixel watermark but draw x_T without the Tree-Ring mark (the mark costs some sample diversity; docs/text-to-image.md)")]
    public bool NoTreeRing { get; init; }

    [CommandOption("--watermark-key <FILE>")]
    [Description("images: the watermark key file (default: watermark.key in $GENSHARP_CONFIG_DIR or ~/.config/gensharp, created on first use)")]
    public string? WatermarkKey { get; init; }

    [CommandOption("--no-provenance")]
    [Description("images: write no signed FILE.provenance.json beside the output")]
    public bool NoProvenance { get; init; }

    [CommandOption("--width <PX>")]
    [Description("Stable Diffusion folders: image width in pixels, a multiple of 8·2^(UNet blocks−1) (default: the UNet's sample_size × 8, or the --init image's)")]
    public int? Width { get; init; }

    [CommandOption("--height <PX>")]
    [Description("Stable Diffusion folders: image height in pixels (default as --width)")]
    public int? Height { get; init; }

    [CommandOption("--vae-tile <CELLS>")]
    [Description("Stable Diffusion folders: decode the latents in overlapping tiles of this many latent cells per side (e.g. 32) to bound the decoder's memory (default 0: whole image)")]
    public int? VaeTile { get; init; }

    [CommandOption("--naive")]
    [Description("audio: run the full network over the receptive field for every sample instead of the per-layer queues (for timing)")]
    public bool Naive { get; init; }
}

/// <summary><c>gensharp sample CKPT</c>: grids, .npy arrays, sweeps, strips, GIFs, completion and inpainting, for any image family.</summary>
public sealed partial class SampleCommand : Command<SampleSettings>
{
    public override int Execute(CommandContext context, SampleSettings s, CancellationToken cancel)
    {
        if (GenSharp.Models.StableDiffusion.StableDiffusionPipeline.IsFolder(s.Checkpoint)) return SampleStableDiffusion(s);
        if (s.Width is not null || s.Height is not null || s.VaeTile is not null)
            throw new GenSharpException("--width/--height/--vae-tile go with Stable Diffusion folders (a folder with model_index.json)");
        using var m = CliInputs.Load(s.Checkpoint, s);
        if (m.Model is IAudioModel audio) return SampleAudio(s, audio);
        if (m.Model is IMusicModel music) return SampleMusic(s, music);
        if (m.Model is IVideoModel video) return SampleVideo(s, video);
        if (s.Continue is not null || s.Interpolate is not null || s.Frames is not null)
            throw new GenSharpException("--continue/--interpolate/--frames go with videodiffusion checkpoints");
        if (s.Melody is not null || s.Prime is not null || s.NoRender || s.SampleRate is not null)
            throw new GenSharpException("--melody/--prime/--no-render/--sample-rate go with music checkpoints");
        if (s.Seconds is not null || s.Condition is not null || s.Naive)
            throw new GenSharpException("--seconds/--condition/--naive go with audio checkpoints (wavenet)");
        if (m.Model is ILanguageModel)
            throw new GenSharpException($"{m.Family.Name} checkpoints make text, not images: use 'gensharp generate CKPT --prompt TEXT'");
        var sampler = m.Model as IImageSampler
            ?? throw new GenSharpException($"a {m.Family.Name} checkpoint cannot sample; give a generative checkpoint");
        var outPath = CliInputs.Output(s.Out, "sample", ".png", ".npy");
        if (s.Complete is null && (s.Rows is not null || s.KnownPixels is not null)) throw new GenSharpException("--rows/--known-pixels go with --complete");
        // Prompted models inpaint their --init image under the prompt when a --mask is given.
        bool prompted = sampler.DefaultSamplerOptions.Names.Contains("prompt");
        string? inpaintSource = s.Inpaint ?? (s.Mask is not null && prompted ? s.Init : null);
        if (inpaintSource is null && s.Mask is not null) throw new GenSharpException(prompted ? "--mask goes with --init IMAGE (or --inpaint IMAGE)" : "--mask goes with --inpaint");
        if (s.PromptTo is not null && (s.Complete is not null || inpaintSource is not null || s.Init is not null))
            throw new GenSharpException("--prompt-to (an interpolation strip) goes without --init/--inpaint/--complete");

        using var output = ImageOutput.For(m, s.NoWatermark, s.WatermarkKey, s.NoProvenance);
        if (s.Complete is not null) return Complete(s, m, outPath, output);
        if (s.Rows is not null || s.KnownPixels is not null) throw new GenSharpException("--rows/--known-pixels go with --complete");
        if (inpaintSource is not null) return Inpaint(s, m, sampler, inpaintSource, prompted, outPath, output);

        var values = s.SamplerValues(inpainting: false);
        if (s.PromptTo is not null) return InterpolatePrompts(s, m, sampler, values, outPath, output);
        if (s.Init is not null && sampler is IImageToImage img2img) return ImageToImage(s, m, img2img, values, outPath, output);
        if (s.Strength is not null) throw new GenSharpException("--strength goes with --init IMAGE (image-to-image)");
        var options = sampler.DefaultSamplerOptions.With(values, m.Family.Name);
        if (s.Temperature is { } temps && temps.Contains(','))
        {
            if (s.Strip is not null || s.Gif is not null) throw new GenSharpException("a temperature sweep goes without --strip/--gif");
            var list = temps.Split(',').Select(t => t.Trim()).ToList();
            using var rows = ImageSampling.Sweep(sampler, "temperature", list, s.N ?? 10, s.Seed, options);
            output.Save(rows, outPath, s.N ?? 10, ImageOutput.Settings(s.Seed, rows.shape[0], sampler.RecordSampler(options)));
            Console.WriteLine($"wrote {outPath} (one row per temperature: {temps})");
            return 0;
        }
        if (s.Temperature is { } t1) options = options.With(new Dictionary<string, string> { ["temperature"] = t1 }, m.Family.Name);
        bool npy = outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase);
        using var r = ImageSampling.Run(sampler, new ImageSamplingOptions
        {
            Count = s.N ?? 64, Seed = s.Seed, Class = s.Class, ClassGrid = !npy && s.Prompt is null, Sampler = options,
            StripColumns = s.Strip is null ? 0 : 10, StripRows = 8, Frames = s.Gif is null ? 0 : 100, TreeRingKey = s.NoTreeRing ? null : output.Key,
        });
        var settings = ImageOutput.Settings(s.Seed, r.Images.shape[0], sampler.RecordSampler(r.Sampler), s.Class);
        output.Save(r.Images, outPath, r.Columns, settings, r.TreeRing is not null);
        if (s.Strip is { } stripPath)
        {
            int rows = (int)r.Strip[0].shape[0];
            var strip = Enumerable.Range(0, rows).Select(i => torch.cat(r.Strip.Select(col => col.narrow(0, i, 1)).ToArray(), 0)).ToList();
            output.SaveRows(strip, stripPath, settings, r.TreeRing is not null, scale: 1);
            foreach (var t in strip) t.Dispose();
        }
        if (s.Gif is { } gifPath) GifEncoder.WriteGrids(gifPath, r.FrameImages.ToList(), delayCentiseconds: 8, columns: r.Columns);
        var how = string.Join(", ", r.Sampler.Describe().Where(kv => kv.Value is not null && kv.Key is not ("resample" or "jump"))
            .Select(kv => $"{kv.Key} {kv.Value}"));
        Console.WriteLine($"wrote {outPath} ({r.Images.shape[0]} samples" + (how.Length > 0 ? $", {how}" : "") + $", {r.ImagesPerSecond:F2} images/s)" +
            (s.Strip is { } sp ? $"; strip {sp}" : "") + (s.Gif is { } gp ? $"; gif {gp}" : ""));
        Console.WriteLine(Marks(output, r.TreeRing is not null, s.NoProvenance, outPath));
        return 0;
    }

    /// <summary>One line on what was added to the output: watermarks and the provenance manifest.</summary>
    static string Marks(ImageOutput output, bool treeRing, bool noProvenance, string outPath) =>
        (output.Key is { } k ? $"watermark: pixel{(treeRing ? " + Tree-Ring" : "")} (key {k.Id}; check with 'gensharp watermark detect')" : "watermark: none (--no-watermark)") +
        (noProvenance ? "" : $"; provenance: {GenSharp.Provenance.ProvenanceManifest.SidecarOf(outPath)}");

    static int SampleMusic(SampleSettings s, IMusicModel model)
    {
        var outPath = CliInputs.Output(s.Out, "sample", ".mid");
        if (s.N is not null || s.Class is not null || s.Complete is not null || s.Inpaint is not null || s.Strip is not null || s.Gif is not null
            || s.Seconds is not null || s.Condition is not null || s.Naive)
            throw new GenSharpException("music checkpoints draw one chorale: use --steps, --prime, --melody, --temperature, --seed");
        double temperature = 1.0;
        if (s.Temperature is { } t && !double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out temperature))
            throw new GenSharpException($"--temperature must be one number for music, got '{t}'");
        var r = MusicSampling.Run(model, new MusicSamplingOptions { Steps = s.Steps, Seed = s.Seed, Temperature = temperature, Prime = s.Prime, Melody = s.Melody });
        if (s.SampleRate is { } rate && (rate < 8000 || rate > 96000))
            throw new GenSharpException($"--sample-rate must be 8000 to 96000 Hz (FluidSynth's range), got {rate}");
        var (png, wav) = MusicSampling.Write(r, outPath, render: !s.NoRender, sampleRate: s.SampleRate ?? 22050);
        Console.WriteLine($"wrote {outPath} ({r.Steps.Count - r.PrimeSteps} steps drawn" + (r.SourceName is { } src ? $" given {src}" : "") +
            $", {r.Seconds:F1} s), its piano roll {png}" + (wav is not null ? $" and {wav} (FluidSynth)" : s.NoRender ? "" : "; no WAV: install fluidsynth fluid-soundfont-gm to render one"));
        return 0;
    }

    /// <summary>Clips from a video model: drawn from noise (--class, -n), continued (--continue) or interpolated (--interpolate); .gif, .mp4 or a .png frame strip.</summary>
    static int SampleVideo(SampleSettings s, IVideoModel model)
    {
        var outPath = CliInputs.Output(s.Out, "sample", ".gif", ".mp4", ".png");
        if (s.Temperature is not null || s.Complete is not null || s.Inpaint is not null || s.Strip is not null || s.Gif is not null || s.Init is not null || s.Prompt is not null)
            throw new GenSharpException("video checkpoints take --class, -n, --continue, --interpolate, --frames, --scheduler, --steps, --eta, --guidance-scale, --seed");
        if (s.Continue is not null && s.Interpolate is not null) throw new GenSharpException("give --continue or --interpolate, not both");
        if (s.Frames is not null && s.Continue is null) throw new GenSharpException("--frames goes with --continue CLIP.gif");
        int n = s.N ?? 1, frames = model.Frames;
        if (n < 1) throw new GenSharpException($"-n must be ≥ 1, got {n}");
        if (s.Class is { } k && (k < 0 || k >= model.NumClasses)) throw new GenSharpException($"--class must be in [0, {model.NumClasses - 1}], got {k}");
        long[] labels = Enumerable.Range(0, n).Select(i => s.Class is { } c ? (long)c : i % model.NumClasses).ToArray();
        var o = new VideoGenerationOptions { Count = n, Labels = labels, Scheduler = s.Scheduler, Steps = s.Steps, Eta = s.Eta ?? 0, GuidanceScale = s.GuidanceScale, Seed = s.Seed };
        string what = $"{n} clip{(n == 1 ? "" : "s")} drawn";
        bool continuing = s.Continue is not null;                                            // else interpolating
        var source = s.Continue ?? s.Interpolate;
        if (source is not null)
        {
            using var grey = VideoFiles.ReadGrey(source);                                     // (T', 1, H, W) uint8
            if (grey.shape[2] % model.FrameSize != 0 || grey.shape[2] != grey.shape[3])
                throw new GenSharpException($"{source} has {grey.shape[3]}×{grey.shape[2]} frames; the model makes {model.FrameSize}×{model.FrameSize} (a whole multiple is shrunk)");
            int keep = continuing ? s.Frames ?? frames / 2 : 2;
            if (continuing && (keep < 1 || keep >= frames)) throw new GenSharpException($"--frames must be in [1, {frames - 1}], got {keep}");
            if (grey.shape[0] < (continuing ? keep : 2)) throw new GenSharpException($"{source} has {grey.shape[0]} frames; need at least {keep}");
            var f = grey.to(torch.ScalarType.Float32) / 255;
            if (grey.shape[2] != model.FrameSize) f = torch.nn.functional.avg_pool2d(f, (int)(grey.shape[2] / model.FrameSize));
            var known = torch.zeros(new long[] { n, frames, 1, model.FrameSize, model.FrameSize });
            var flags = new bool[frames];
            if (continuing)
                for (int t = 0; t < keep; t++) { flags[t] = true; known[.., t] = f[t]; }
            else
            {
                flags[0] = flags[frames - 1] = true;
                known[.., 0] = f[0];
                known[.., frames - 1] = f[f.shape[0] - 1];
            }
            o = o with { Known = known, KnownFrames = flags };
            what = continuing ? $"{n} continuation{(n == 1 ? "" : "s")} of the first {keep} frames of {source}" : $"{n} interpolation{(n == 1 ? "" : "s")} between the first and last frames of {source}";
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var clips = model.Generate(o);                                                   // (N, T, 1, S, S) in [0, 1]
        VideoFiles.Save(outPath, Enumerable.Range(0, n).Select(i => clips[i]).ToList(), scale: Math.Max(1, 64 / model.FrameSize));
        Console.WriteLine($"wrote {outPath}: {what}, {frames} frames of {model.FrameSize}×{model.FrameSize} ({model.DescribeSampler(o)}, {clock.Elapsed.TotalSeconds:F1} s)");
        return 0;
    }

    static int SampleAudio(SampleSettings s, IAudioModel model)
    {
        var outPath = CliInputs.Output(s.Out, "sample", ".wav");
        if (s.N is not null || s.Class is not null || s.Temperature is not null || s.Complete is not null || s.Inpaint is not null || s.Strip is not null || s.Gif is not null)
            throw new GenSharpException("audio checkpoints draw one waveform: use --seconds, --condition, --naive, --seed");
        var r = AudioSampling.Run(model, new AudioSamplingOptions { Seconds = s.Seconds ?? 1.0, Condition = s.Condition, Seed = s.Seed, Naive = s.Naive });
        var png = AudioSampling.WriteWavAndSpectrogram(r.Audio, outPath, model.Mel);
        Console.WriteLine($"wrote {outPath} ({r.Audio.Seconds:F2} s at {r.Audio.SampleRate} Hz) and its spectrogram {png}; " +
            $"{r.Seconds:F1} s of compute, real-time factor {r.RealTimeFactor:F1} ({(s.Naive ? "naive: full network per sample" : "queued")})");
        if (r.Source is not null)
        {
            var (lsd, mcd) = AudioSampling.Distances(r, model.Mel);
            Console.WriteLine($"resynthesis of {r.SourceName}: log-spectral distance {lsd:F2} dB, mel-cepstral distortion {mcd:F2} dB");
        }
        return 0;
    }

    static int ImageToImage(SampleSettings s, LoadedModel m, IImageToImage sampler, Dictionary<string, string> values, string outPath, ImageOutput output)
    {
        if (s.Strip is not null || s.Gif is not null || s.Temperature is not null || s.Class is not null)
            throw new GenSharpException("--init (image-to-image) goes without --strip/--gif/--temperature/--class");
        values.Remove("init");
        var cfg = ImageFamilyConfig.Of((IGenerativeModel)m.Model);
        using var images = CliInputs.Images(s.Init!, "init", s.Data, cfg.ImageChannels, cfg.ImageSize);
        var options = ((IImageSampler)sampler).DefaultSamplerOptions.With(values, m.Family.Name);
        var init01 = images.dtype == torch.ScalarType.Byte ? images.to(torch.ScalarType.Float32) / 255 : images.to(torch.ScalarType.Float32);
        int per = s.N ?? 4;
        using var repeated = init01.repeat_interleave(per, dim: 0);                    // (B·per, C, H, W), image-major
        torch.manual_seed(s.Seed);
        using var gen = new torch.Generator((ulong)s.Seed);
        var clock = Stopwatch.StartNew();
        using var outputs = sampler.ImageToImage(repeated, options, gen);
        // One row per init image: the init, then its variations.
        var rows = new List<torch.Tensor>();
        for (int i = 0; i < init01.shape[0]; i++)
            rows.Add(torch.cat(new[] { init01.narrow(0, i, 1), outputs.narrow(0, i * per, per) }, 0));
        using var grid = torch.cat(rows, 0);
        var settings = ImageOutput.Settings(s.Seed, outputs.shape[0], ((IImageSampler)sampler).RecordSampler(options));
        settings["init"] = s.Init!;
        output.Save(grid, outPath, per + 1, settings);
        Console.WriteLine($"wrote {outPath}: {init01.shape[0]} init images × {per} variations (rows: init, variations); " +
            $"{((IImageSampler)sampler).DescribeSampler(options)}, {outputs.shape[0] / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F2} images/s");
        Console.WriteLine(Marks(output, false, s.NoProvenance, outPath));
        return 0;
    }

    /// <summary>--prompt A --prompt-to B: one row of -n images from the same noise, the text embedding walking from A to B.</summary>
    static int InterpolatePrompts(SampleSettings s, LoadedModel m, IImageSampler sampler, Dictionary<string, string> values, string outPath, ImageOutput output)
    {
        if (sampler is not IPromptInterpolation strip)
            throw new GenSharpException($"--prompt-to needs a prompted family that interpolates prompts (txt2img); this is a {m.Family.Name} checkpoint");
        if (s.Prompt is null) throw new GenSharpException("--prompt-to goes with --prompt (the strip's first prompt)");
        if (s.Strip is not null || s.Gif is not null || s.Temperature is not null || s.Class is not null || s.Strength is not null)
            throw new GenSharpException("--prompt-to goes without --strip/--gif/--temperature/--class/--strength");
        var options = sampler.DefaultSamplerOptions.With(values, m.Family.Name);
        int count = s.N ?? 8;
        torch.manual_seed(s.Seed);
        using var gen = new torch.Generator((ulong)s.Seed);
        var clock = Stopwatch.StartNew();
        using var images = strip.InterpolatePrompts(s.Prompt, s.PromptTo!, count, options, gen);
        var settings = ImageOutput.Settings(s.Seed, count, sampler.RecordSampler(options));
        settings["prompt_to"] = s.PromptTo!;
        output.Save(images, outPath, count, settings);
        Console.WriteLine($"wrote {outPath}: {count} images from \"{s.Prompt}\" to \"{s.PromptTo}\" with the same noise (seed {s.Seed}); " +
            $"{sampler.DescribeSampler(options)}, {count / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F2} images/s");
        Console.WriteLine(Marks(output, false, s.NoProvenance, outPath));
        return 0;
    }

    static int Complete(SampleSettings s, LoadedModel m, string outPath, ImageOutput output)
    {
        if (s.Temperature is not null) throw new GenSharpException("give --complete or --temperature, not both");
        if (s.Inpaint is not null) throw new GenSharpException("give --complete or --inpaint, not both");
        if (m.Model is not IImageCompletion completion)
            throw new GenSharpException($"{m.Family.Name} cannot complete images; --complete needs an autoregressive family such as pixelcnn");
        foreach (var k in s.SamplerValues(inpainting: false).Keys)
            throw new GenSharpException($"--{k.Replace('_', '-')} does not apply to --complete");
        var cfg = ImageFamilyConfig.Of(m.Model);
        if (s.Rows is not null && s.KnownPixels is not null) throw new GenSharpException("give --rows or --known-pixels, not both");
        long known = s.KnownPixels ?? (long)(s.Rows ?? cfg.ImageSize / 2) * cfg.ImageSize;
        using var images = CliInputs.Images(s.Complete!, "complete", s.Data, cfg.ImageChannels, cfg.ImageSize);
        var clock = Stopwatch.StartNew();
        using var r = Completion.Run(completion, images, new CompletionOptions { KnownPixels = known, PerImage = s.N ?? 8, Seed = s.Seed, Class = s.Class });
        var (grid, columns) = r.Rows();
        var settings = ImageOutput.Settings(s.Seed, r.Fills.shape[0] * r.Fills.shape[1], new Dictionary<string, object?> { ["complete"] = s.Complete, ["known_pixels"] = known });
        using (grid) output.Save(grid, outPath, columns, settings);
        Console.WriteLine($"wrote {outPath}: {images.shape[0]} images × {r.Fills.shape[1]} completions from the first {known} pixels " +
            $"(rows: known part, completions, original) in {clock.Elapsed.TotalSeconds:F1}s");
        Console.WriteLine(Marks(output, false, s.NoProvenance, outPath));
        return 0;
    }

    static int Inpaint(SampleSettings s, LoadedModel m, IImageSampler sampler, string source, bool prompted, string outPath, ImageOutput output)
    {
        if (sampler is not IImageInpainter inpainter)
            throw new GenSharpException($"--inpaint needs a family that inpaints (ddpm, ebm, txt2img); this is a {m.Family.Name} checkpoint");
        if ((s.GuidanceScale is not null && !prompted) || s.Strip is not null || s.Gif is not null || s.Temperature is not null)
            throw new GenSharpException($"--inpaint goes without {(prompted ? "" : "--guidance-scale/")}--strip/--gif/--temperature");
        if (s.Inpaint is not null && s.Init is not null) throw new GenSharpException("--init goes without --inpaint (inpainting starts the unknown pixels from noise)");
        if (s.Strength is not null) throw new GenSharpException("--strength goes with --init without --mask (image-to-image); inpainting redraws the masked pixels from noise");
        var cfg = ImageFamilyConfig.Of(sampler);
        var mask = InpaintMasks.FromSpec(s.Mask ?? throw new GenSharpException("--inpaint needs --mask; see 'gensharp sample --help'"), cfg.ImageSize, s.Seed);
        using var images = CliInputs.Images(source, s.Inpaint is not null ? "inpaint" : "init", s.Data, cfg.ImageChannels, cfg.ImageSize);
        var values = s.SamplerValues(inpainting: true);
        values.Remove("init");
        var options = inpainter.DefaultSamplerOptions.With(values, m.Family.Name);
        using var r = Inpainting.Run(inpainter, images, mask, new InpaintingOptions { PerImage = s.N ?? 4, Seed = s.Seed, Class = s.Class, Sampler = options });
        var (grid, columns) = r.Rows();
        var settings = ImageOutput.Settings(s.Seed, r.Fills.shape[0] * r.Fills.shape[1], inpainter.RecordSampler(options));
        settings["inpaint"] = source;
        settings["mask"] = s.Mask!;
        using (grid) output.Save(grid, outPath, columns, settings);
        Console.WriteLine($"wrote {outPath}: {images.shape[0]} images × {r.Fills.shape[1]} inpaintings (rows: known part, inpaintings, original); " +
            $"{r.Sampler}, {r.ImagesPerSecond:F2} images/s");
        Console.WriteLine(Marks(output, false, s.NoProvenance, outPath));
        return 0;
    }
}
